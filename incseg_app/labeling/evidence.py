"""What the active model knows about an image, in the form the weight-free labeller uses.

One forward pass of the active segmentation model gives two things:

* ``known``: H×W, its probability of the classes it already knows that the image is not tagged
  with — where the tagged (new) classes cannot be (WILSON, Cermelli et al. CVPR 2022, Sec. 3.2,
  uses the old model to tell the localiser where background is);
* ``context``: C×h×w at the model's feature stride, the log-probabilities of every channel, the
  decoder's pixel embeddings and the fused encoder features (each L2-normalised per pixel). The
  model was trained on this store's images, so these are features of *this* domain; the
  ``CorrectionHead`` reads them, pooled per region, beside the frozen ImageNet features (our
  choice; ablation in docs/benchmarks.md: +1.6 and +1.4 new-class mIoU at k = 3 and 10, CamVid 6-5).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.inputs import image_tensor
from .protocols import check_image


@dataclass(frozen=True)
class ModelEvidence:
    """The active model's view of one image.

    Attributes:
        known: H×W float32 in [0, 1], probability of the known classes the image is not tagged
            with, or None when there is no such class.
        context: C×h×w float16 model features (see the module docstring).
    """

    known: np.ndarray | None
    context: np.ndarray


@torch.no_grad()
def model_evidence(model: nn.Module, image: np.ndarray, known_channels: Sequence[int], device: torch.device,
                   max_side: int | None = None) -> ModelEvidence:
    """``ModelEvidence`` of an H×W×3 uint8 image from a segmenter returning ``SegOutput``.

    known_channels: logit channels whose probabilities sum to ``known`` (empty -> ``known`` None).
    """
    check_image(image)
    model.eval()
    out = model(image_tensor(image, device, max_side))
    logits = out.logits.float()
    feats = out.features.float()
    small = F.interpolate(logits, size=feats.shape[-2:], mode="bilinear", align_corners=False)
    context = torch.cat([torch.log_softmax(small, dim=1), F.normalize(out.pixel_emb.float(), dim=1),
                         F.normalize(feats, dim=1)], dim=1)[0]
    known = None
    if len(known_channels):
        probs = torch.softmax(logits, dim=1)[0, list(known_channels)].sum(0, keepdim=True)
        known = F.interpolate(probs[None], size=image.shape[:2], mode="bilinear", align_corners=False)[0, 0]
        known = known.clamp(0, 1).cpu().numpy().astype(np.float32)
    return ModelEvidence(known, context.cpu().numpy().astype(np.float16))
