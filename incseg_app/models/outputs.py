"""What every segmentation model returns. Shapes: B batch, K classes (channel 0 = background),
D decoder width, C fused encoder width, H×W input size, h×w = H/s × W/s at the feature stride s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch.nn.functional as F
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
    _log_probs: Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def log_probs(self) -> Tensor:
        """B×K×H×W float32 log-softmax of ``logits`` over the classes, computed once and shared by every
        loss that reads it (a training step's cross-entropy and distillation; each full-resolution
        log-softmax costs a forward and a backward pass over B·K·H·W values)."""
        if self._log_probs is None:
            self._log_probs = F.log_softmax(self.logits.float(), dim=1)
        return self._log_probs
