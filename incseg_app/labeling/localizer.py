"""Tag localiser: class maps learnt from image-level tags, the fallback when no CLIP is configured.

WILSON (Cermelli et al., "Incremental Learning in Semantic Segmentation from Image Labels", CVPR
2022, Sec. 3.2) trains a small localiser head on the frozen encoder of the current model with a
multi-label classification loss over the image tags, aggregating the per-pixel scores s with
normalised global weighted pooling (NGWP) and a focal size penalty, both from Araslanov & Roth
("Single-Stage Semantic Segmentation from Image Labels", CVPR 2020):

- ``ngwp``: masks m = softmax over classes of s (Eq. 2 of Araslanov & Roth),
  y_c = Σ_i m_ic s_ic / (ε + Σ_i m_ic);
- size-focal penalty (their Eq. 3): p_c = (1 − m̄_c)^γ · log(λ + m̄_c), m̄_c = mean_i m_ic, added to y_c;
- ``localizer_loss``: multi-label soft margin on y + p, background always present; plus (our
  addition, not in either paper) a mask-presence term: binary cross-entropy between the tags and
  the mean of each class mask over its top ``TOP_FRACTION`` pixels. NGWP's pooled score grows with
  the raw scores, so on data whose tags are nearly constant (street scenes: car, sign, pedestrian
  in almost every image) it is satisfied by masks that are tiny everywhere; the presence term
  forces a tagged class to win some pixels and an absent class to win none.

The masks m, restricted to the image's tagged classes and background, are the class maps.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor, nn

from ..domain.errors import ValidationError, WeightsUnavailableError
from .protocols import TaggedClass, check_image

log = logging.getLogger(__name__)

FOCAL_GAMMA = 3.0  # γ of the size-focal penalty (Araslanov & Roth 2020, Sec. 3.1)
FOCAL_LAMBDA = 0.01  # λ of the size-focal penalty
TOP_FRACTION = 0.05  # mask-presence term: mean of each class mask over its top 5 % of pixels
MIN_STEPS = 300  # default schedule: enough epochs for this many optimiser steps (features are cached)


class LocalizerHead(nn.Module):
    """1×1 and 3×3 conv + ReLU layers and a 1×1 classifier: B×C×h×w -> B×(1+K)×h×w scores.

    The 1×1 reduction first keeps a CPU training step cheap on stride-8 feature maps. No
    normalisation layer: GroupNorm's per-image statistics would let a class be "detected" from
    anywhere in the image, so its mask need not sit on the object.
    """

    def __init__(self, in_channels: int, num_outputs: int, hidden: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, num_outputs, 1),
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features)


def ngwp(scores: Tensor, eps: float = 1.0) -> tuple[Tensor, Tensor]:
    """Normalised global weighted pooling with the size-focal penalty (Araslanov & Roth, Eq. 2-3).

    scores: B×K×h×w raw scores (channel 0 background). Returns (y + p: B×K, masks m: B×K×h×w in [0, 1]).
    """
    masks = torch.softmax(scores, dim=1)
    flat_m, flat_s = masks.flatten(2), scores.flatten(2)
    pooled = (flat_m * flat_s).sum(-1) / (eps + flat_m.sum(-1))
    mean_m = flat_m.mean(-1)
    penalty = (1.0 - mean_m).pow(FOCAL_GAMMA) * torch.log(FOCAL_LAMBDA + mean_m)
    return pooled + penalty, masks


def localizer_loss(scores: Tensor, targets: Tensor) -> Tensor:
    """Multi-label soft-margin loss of NGWP scores plus the mask-presence term.
    scores B×(1+K)×h×w (channel 0 background); targets B×K in {0, 1}."""
    pooled, _ = ngwp(scores)
    with_background = torch.cat([torch.ones_like(targets[:, :1]), targets], dim=1)
    loss = F.multilabel_soft_margin_loss(pooled, with_background)
    masks = torch.softmax(scores, dim=1)[:, 1:].flatten(2)
    k = max(1, int(TOP_FRACTION * masks.shape[-1]))
    presence = masks.topk(k, dim=-1).values.mean(-1).clamp(1e-4, 1 - 1e-4)  # B×K
    loss = loss + F.binary_cross_entropy(presence, targets)
    return loss


class TagLocalizer:
    """``ClassMapSource`` trained from tags on a frozen encoder (WILSON localiser).

    Args:
        encoder: a models encoder: B×3×H×W in [0, 1] -> B×C×h×w, with ``out_channels``; kept frozen.
        input_size: square side, pixels, every image is resized to for features.
        hidden: width of the localiser head.
    """

    def __init__(self, encoder: nn.Module, input_size: int = 320, hidden: int = 64, description: str = "") -> None:
        self.encoder = encoder.eval().requires_grad_(False)
        self.input_size = input_size
        self.hidden = hidden
        self.class_ids: tuple[int, ...] = ()
        self.head: LocalizerHead | None = None
        self.description = description or f"tag localiser on the {type(encoder).__name__} encoder (WILSON NGWP)"

    @property
    def fitted(self) -> bool:
        return self.head is not None

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    @torch.no_grad()
    def features(self, image: np.ndarray) -> Tensor:
        """H×W×3 uint8 -> 1×C×h×w frozen encoder features at ``input_size``²."""
        x = torch.tensor(check_image(image)).permute(2, 0, 1)[None].float().div(255.0)
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                          antialias=True)
        return self.encoder(x.to(self.device))

    def fit(self, images: Sequence[np.ndarray], tags: np.ndarray, class_ids: Sequence[int],
            epochs: int | None = None, lr: float = 3e-3, batch_size: int = 8, seed: int = 0) -> list[float]:
        """Train a new head on tagged images; returns the mean loss of each epoch.

        images: N H×W×3 uint8; tags: N×K {0, 1}, column k = ``class_ids[k]`` present in image n.
        epochs: passes over the images; None = enough passes for ``MIN_STEPS`` optimiser steps (the
            NGWP loss sits on a plateau for the first ~100 steps before the masks localise).
        """
        tags = np.asarray(tags, dtype=np.float32)
        if len(images) == 0 or tags.shape != (len(images), len(class_ids)) or len(class_ids) == 0:
            raise ValidationError(f"tag localiser needs N images with an N×K tag matrix for K >= 1 classes, got "
                                  f"{len(images)} images, tags {tags.shape}, {len(class_ids)} classes")
        feats = torch.cat([self.features(image) for image in images])  # frozen: computed once
        torch.manual_seed(seed)
        self.head = LocalizerHead(feats.shape[1], 1 + len(class_ids), self.hidden).to(feats.device)
        self.class_ids = tuple(int(c) for c in class_ids)
        if epochs is None:
            epochs = math.ceil(MIN_STEPS / math.ceil(len(images) / batch_size))
        targets = torch.from_numpy(tags).to(feats.device)
        history = self._train(self.head, feats, targets, epochs, lr, batch_size, seed)
        log.info("tag localiser trained on %d images, %d classes: loss %.4f -> %.4f", len(images),
                 len(class_ids), history[0], history[-1])
        return history

    @staticmethod
    def _train(head: LocalizerHead, feats: Tensor, targets: Tensor, epochs: int, lr: float, batch_size: int,
               seed: int) -> list[float]:
        """Mini-batch AdamW of ``head`` on cached features (random horizontal flips); loss per epoch."""
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
        history = []
        for _ in range(epochs):
            order = torch.randperm(len(feats), generator=generator)
            total = 0.0
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size].to(feats.device)
                batch = feats[idx]
                if torch.rand((), generator=generator) < 0.5:  # flip augmentation on the cached features
                    batch = batch.flip(-1)
                loss = localizer_loss(head(batch), targets[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            history.append(total / len(feats))
        head.eval()
        return history

    @torch.no_grad()
    def __call__(self, image: np.ndarray, classes: Sequence[TaggedClass]) -> np.ndarray:
        """image H×W×3 uint8 -> K×H×W masks in [0, 1] (softmax over background + tagged classes)."""
        if self.head is None:
            raise ValidationError("the tag localiser has not been trained yet: fit it on the tagged images first")
        missing = [c for c, _ in classes if c not in self.class_ids]
        if missing:
            raise ValidationError(f"the tag localiser was not trained on class id(s) {missing}; retrain it")
        if not classes:
            return np.zeros((0, *image.shape[:2]), np.float32)
        channels = [0] + [1 + self.class_ids.index(c) for c, _ in classes]
        scores = self.head(self.features(image))[:, channels]
        scores = F.interpolate(scores, size=image.shape[:2], mode="bilinear", align_corners=False)
        return torch.softmax(scores, dim=1)[0, 1:].cpu().numpy().astype(np.float32)

    def to_bytes(self) -> bytes:
        """The trained head and its class ids as safetensors bytes."""
        if self.head is None:
            raise ValidationError("the tag localiser has not been trained; nothing to save")
        tensors = {f"head.{k}": v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        tensors["class_ids"] = torch.tensor(self.class_ids, dtype=torch.int64)
        tensors["input_size"] = torch.tensor([self.input_size], dtype=torch.int64)
        return save_safetensors(tensors)

    def load_bytes(self, data: bytes) -> None:
        """Restore a head saved by ``to_bytes`` (raises ``WeightsUnavailableError`` when it does not fit)."""
        try:
            tensors = load_safetensors(data)
            state = {k[len("head."):]: v for k, v in tensors.items() if k.startswith("head.")}
            class_ids = tuple(int(c) for c in tensors["class_ids"].tolist())
            head = LocalizerHead(state["body.0.weight"].shape[1], 1 + len(class_ids), state["body.0.weight"].shape[0])
            head.load_state_dict(state)
        except Exception as exc:  # safetensors and load_state_dict raise several error types
            raise WeightsUnavailableError(f"saved tag localiser weights could not be read: {exc}") from exc
        if head.body[0].in_channels != getattr(self.encoder, "out_channels", head.body[0].in_channels):
            raise WeightsUnavailableError("saved tag localiser weights were trained on a different encoder")
        self.head = head.to(self.device).eval()
        self.hidden = head.body[0].out_channels
        self.class_ids = class_ids
        self.input_size = int(tensors["input_size"][0])
