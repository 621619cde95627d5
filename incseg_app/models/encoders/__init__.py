"""Backbones behind ``models.build.ENCODER_BUILDERS``: tiny (tests), EfficientNet-Lite0, open_clip ViT."""
