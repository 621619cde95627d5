"""The visual tower of an open_clip ViT as a dense encoder: patch tokens as a B×C×h×w map.

Stride = the ViT patch size (16 for ViT-B-16); ``ModelConfig.output_stride`` does not apply.
Inputs of any size work: the image is zero-padded (after normalisation) on the right/bottom to a
multiple of the patch size, so h = ceil(H / patch), and the learned positional embedding of the
patch grid is resized bicubically to h×w at every forward pass (as DINO/DeiT do for new
resolutions); the class-token position is kept as is. At the model's native size this is the
identity, so the tower sees exactly what CLIP was trained on.

The contrastive projection (``proj``) is dropped: features are the ``ln_post``-normalised patch
tokens of width C (768 for ViT-B-16), and removing unused parameters keeps DDP simple.
"""
from __future__ import annotations

import pickle
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...domain.errors import ValidationError, WeightsUnavailableError
from .base import Encoder



def create_clip_model(clip_model: str, clip_pretrained: str) -> nn.Module:
    """``open_clip.create_model(clip_model, pretrained=clip_pretrained or None)`` with domain errors.

    ``clip_pretrained`` is an open_clip tag or a local checkpoint file; "" builds random weights.

    Raises:
        WeightsUnavailableError: the architecture, tag or file cannot be loaded.
    """
    import open_clip

    try:
        return open_clip.create_model(clip_model, pretrained=clip_pretrained or None)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise WeightsUnavailableError(
            f"open_clip model {clip_model!r} with weights {clip_pretrained!r}: cannot be loaded ({exc})") from exc


class OpenCLIPViTEncoder(Encoder):
    """Dense features from an open_clip ``VisionTransformer``.

    Input B×3×H×W RGB in [0, 1] (the model's CLIP mean/std applied here); output
    B×width×ceil(H/p)×ceil(W/p), p = patch size = ``stride``.
    """

    def __init__(self, visual: nn.Module) -> None:
        from open_clip.transformer import VisionTransformer

        if not isinstance(visual, VisionTransformer) or visual.attn_pool is not None:
            raise ValidationError(
                f"openclip_vit encoder needs a plain open_clip VisionTransformer, got {type(visual).__name__}")
        patch_h, patch_w = visual.patch_size
        if patch_h != patch_w:
            raise ValidationError(f"openclip_vit encoder needs square patches, got {visual.patch_size}")
        pp = getattr(visual, "preprocess_cfg", None) or {}
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

        super().__init__(int(visual.conv1.out_channels), int(patch_h),
                         pp.get("mean", OPENAI_DATASET_MEAN), pp.get("std", OPENAI_DATASET_STD))
        self.tap_strides = (int(patch_h),)
        visual.proj = None
        # Dropped patches would break the h×w layout of the output.
        visual.patch_dropout = nn.Identity()
        self.visual = visual

    @classmethod
    def from_config(cls, clip_model: str, clip_pretrained: str) -> OpenCLIPViTEncoder:
        """Build from an open_clip architecture name and a pretrained tag or local file ("" = random weights,
        for a model whose checkpoint state replaces them; ``build_openclip_vit`` refuses "" for a new model)."""
        return cls(create_clip_model(clip_model, clip_pretrained).visual)

    def _grid_position(self, h: int, w: int) -> Tensor:
        """Positional embedding (1 + h·w)×C, the patch grid resized bicubically to h×w."""
        pos = self.visual.positional_embedding
        gh, gw = self.visual.grid_size
        if (gh, gw) == (h, w):
            return pos
        grid = pos[1:].reshape(1, gh, gw, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(h * w, -1)], dim=0)

    def neck(self, taps: Sequence[Tensor]) -> Tensor:
        """No neck: the single tap (the patch tokens) is the feature map."""
        return taps[0]

    def backbone(self, images: Tensor) -> list[Tensor]:
        """B×3×H×W -> [B×width×ceil(H/p)×ceil(W/p)], the ``ln_post`` patch tokens."""
        x = self.normalize(images)
        p = self.stride
        pad_h, pad_w = (-x.shape[-2]) % p, (-x.shape[-1]) % p
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        x = self.visual.conv1(x)  # B×C×h×w
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        cls_token = self.visual.class_embedding.to(x.dtype).expand(b, 1, -1)
        x = torch.cat([cls_token, x], dim=1) + self._grid_position(h, w).to(x.dtype)
        x = self.visual.transformer(self.visual.ln_pre(x))
        x = self.visual.ln_post(x[:, 1:])
        return [x.transpose(1, 2).reshape(b, c, h, w)]
