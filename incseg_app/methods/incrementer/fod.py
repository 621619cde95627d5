"""Incrementer FOD: knowledge distillation focusing on old classes.

Shang et al., "Incrementer", CVPR 2023, Sec. 3.3. Two cosine distillation terms between the current
model and the frozen previous-step model:

* visual tokens (``visual_token_distillation``): 1 − cos(p_new, p_old) per pixel embedding, focused on
  the old classes: cells (h×w patches) that hold any pixel of a new class are left out (the old model
  knows nothing useful there), cells of old classes count fully, and background and unsure (255)
  pixels — which hide old and future classes alike — count ``background_weight``;
* class tokens (``class_token_distillation``): 1 − cos(c_new, c_old) for the decoder output
  embeddings of the old classes.

Choices where the paper is open: a cell's weight is the area mean of its pixels' weights (area
pooling, not one sampled pixel, so a patch that is partly new is recognised as such — an earlier port
sampled one label per patch and distilled partly-new patches); an unsure pixel weighs like
background, never more. For unit vectors 1 − cos(a, b) = ½‖a − b‖²; the functions use the right-hand
side on re-normalised embeddings, which is exactly zero for identical inputs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ...domain.records import BACKGROUND_ID, IGNORE_ID
from ..labelmaps import channel_mask, region_fraction
from ..parts import Part, StepContext


@dataclass(frozen=True)
class FocusedDistillationOptions:
    """Options of ``inc_fod``."""

    visual_weight: float = 1.0  # λ of the visual-token term
    token_weight: float = 1.0  # λ of the class-token term
    background_weight: float = 0.5  # weight in [0, 1] of background and unsure pixels

    def validate(self) -> None:
        if self.visual_weight < 0 or self.token_weight < 0 or not 0.0 <= self.background_weight <= 1.0:
            raise ValidationError("visual_weight and token_weight must be >= 0 and background_weight in [0, 1], "
                                  f"got {self.visual_weight}, {self.token_weight}, {self.background_weight}")


def cosine_distance(a: Tensor, b: Tensor, dim: int) -> Tensor:
    """1 − cos(a, b) along ``dim`` (range [0, 2]), computed as ½‖â − b̂‖² on L2-normalised inputs."""
    a = F.normalize(a.float(), dim=dim)
    b = F.normalize(b.float(), dim=dim)
    return 0.5 * (a - b).pow(2).sum(dim)


def focus_weights(labels: Tensor, size: tuple[int, int], new_channels: Sequence[int],
                  channel_weights: Tensor | None = None, background_weight: float = 0.5) -> tuple[Tensor, Tensor]:
    """Per-cell FOD weights at the embedding resolution.

    Args:
        labels: B×H×W int64 current targets (255 = ignore).
        size: (h, w) of the embeddings.
        new_channels: channels introduced in this step.
        channel_weights: optional K-vector multiplied into each old-class pixel's weight.
        background_weight: weight of background (0) and unsure (255) pixels.
    Returns:
        (weights B×h×w in [0, max channel weight], counted B×h×w bool: cells without any new pixel).
    """
    new = channel_mask(labels, new_channels)
    soft = (labels == BACKGROUND_ID) | (labels == IGNORE_ID)
    pixel = torch.where(soft, torch.full_like(labels, background_weight, dtype=torch.float32),
                        torch.ones_like(labels, dtype=torch.float32))
    if channel_weights is not None:
        safe = torch.where(soft | new, torch.zeros_like(labels), labels).clamp(max=channel_weights.numel() - 1)
        pixel = torch.where(soft, pixel, pixel * channel_weights.float().to(labels.device)[safe])
    pixel = torch.where(new, torch.zeros_like(pixel), pixel)
    counted = region_fraction(new, size) == 0
    weights = F.adaptive_avg_pool2d(pixel[:, None], size)[:, 0] if tuple(pixel.shape[-2:]) != tuple(size) else pixel
    return weights * counted, counted


def visual_token_distillation(pixel_emb: Tensor, old_pixel_emb: Tensor, labels: Tensor,
                              new_channels: Sequence[int], channel_weights: Tensor | None = None,
                              background_weight: float = 0.5) -> Tensor:
    """FOD visual-token term (Incrementer Sec. 3.3): weighted mean of 1 − cos over cells without new pixels.

    Args:
        pixel_emb: B×D×h×w current decoder pixel embeddings.
        old_pixel_emb: B×D×h×w previous-step embeddings (same D and h×w).
        labels: B×H×W int64 current targets (255 = ignore).
        new_channels, channel_weights, background_weight: see ``focus_weights``.
    Returns:
        scalar: Σ_cells w (1 − cos) / #(cells without a new pixel); 0 when every cell holds a new pixel.
    """
    weights, counted = focus_weights(labels, tuple(pixel_emb.shape[-2:]), new_channels, channel_weights,
                                     background_weight)
    distance = cosine_distance(pixel_emb, old_pixel_emb, dim=1)
    return (weights * distance).sum() / counted.sum().clamp_min(1)


def class_token_distillation(class_emb: Tensor, old_class_emb: Tensor, old_channels: Sequence[int],
                             channel_weights: Tensor | None = None) -> Tensor:
    """FOD class-token term (Incrementer Sec. 3.3): mean over old channels of 1 − cos(c_new, c_old).

    Args:
        class_emb: B×K×D current output class embeddings.
        old_class_emb: B×K_old×D previous-step output class embeddings.
        old_channels: the channels to distil (indices < K_old; background included at step > 0).
        channel_weights: optional K-vector; channel c's distance is multiplied by its weight.
    Returns:
        scalar mean over batch and old channels.
    """
    idx = torch.as_tensor(list(old_channels), device=class_emb.device, dtype=torch.long)
    distance = cosine_distance(class_emb[:, idx], old_class_emb[:, idx], dim=-1)  # B×|old|
    if channel_weights is not None:
        distance = distance * channel_weights.float().to(distance.device)[idx]
    return distance.mean()


class FocusedOldDistillation(Part):
    """Loss term ``inc_fod`` (Incrementer Sec. 3.3): losses ``inc_fod_visual`` and ``inc_fod_token``.

    Runs only when a previous-step model exists. Labels are the current ones (after pseudo-labelling),
    so pixels pseudo-labelled as old classes count at full weight.
    """

    name = "inc_fod"
    Options = FocusedDistillationOptions

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        o = self.options
        if ctx.old_out is None or not ctx.step.old_channels:
            return {}
        out = {}
        if o.visual_weight > 0:
            out["inc_fod_visual"] = o.visual_weight * visual_token_distillation(
                ctx.out.pixel_emb, ctx.old_out.pixel_emb, ctx.labels, ctx.step.new_channels,
                ctx.channel_weights, o.background_weight)
        if o.token_weight > 0:
            out["inc_fod_token"] = o.token_weight * class_token_distillation(
                ctx.out.class_emb, ctx.old_out.class_emb, ctx.step.old_channels, ctx.channel_weights)
        return out
