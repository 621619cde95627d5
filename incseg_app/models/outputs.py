"""What every segmentation model returns. Shapes: B batch, K classes (channel 0 = background),
D decoder width, C fused encoder width, H×W input size, h×w = H/s × W/s at the feature stride s.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class SegOutput:
    """Forward result of ``Segmenter``.

    Attributes:
        logits: B×K×H×W, cosine(pixel, class) / temperature + per-class bias, upsampled to the input.
        pixel_emb: B×D×h×w decoder pixel embeddings, L2-normalised along D.
        class_emb: B×K×D decoder output class embeddings, L2-normalised along D.
        features: B×C×h×w fused multi-scale encoder features (the decoder's input; aux heads read it).
    """

    logits: Tensor
    pixel_emb: Tensor
    class_emb: Tensor
    features: Tensor
