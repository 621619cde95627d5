"""Incrementer FOD: knowledge distillation focusing on old classes.

Shang et al., "Incrementer", CVPR 2023, Sec. 3.3. Two cosine distillation terms between the current
model and the frozen previous-step model:

* visual tokens (``visual_token_distillation``): 1 − cos(p_new, p_old) per pixel embedding, only
  where the current labels are not a new class (the old model knows nothing useful there), with
  background-labelled pixels down-weighted (background hides old and future classes);
* class tokens (``class_token_distillation``): 1 − cos(c_new, c_old) for the decoder output
  embeddings of the old classes.

For unit vectors 1 − cos(a, b) = ½‖a − b‖²; the functions use the right-hand side on re-normalised
embeddings, which is exactly zero for identical inputs.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...domain.errors import ValidationError
from ..parts import Part, StepContext

IGNORE = 255


def cosine_distance(a: Tensor, b: Tensor, dim: int) -> Tensor:
    """1 − cos(a, b) along ``dim`` (range [0, 2]), computed as ½‖â − b̂‖² on L2-normalised inputs."""
    a = F.normalize(a.float(), dim=dim)
    b = F.normalize(b.float(), dim=dim)
    return 0.5 * (a - b).pow(2).sum(dim)


def downsample_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """B×H×W int64 labels -> B×h×w by nearest-neighbour sampling (255 stays 255)."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()


def visual_token_distillation(pixel_emb: Tensor, old_pixel_emb: Tensor, labels: Tensor,
                              new_channels: Sequence[int], channel_weights: Tensor | None = None,
                              background_weight: float = 0.5) -> Tensor:
    """FOD visual-token term (Incrementer Sec. 3.3): masked mean of 1 − cos over non-new pixels.

    Args:
        pixel_emb: B×D×h×w current decoder pixel embeddings.
        old_pixel_emb: B×D×h×w previous-step embeddings (same D and h×w).
        labels: B×H×W int64 current targets (255 = ignore), downsampled nearest to h×w.
        new_channels: channels introduced in this step; their pixels are excluded.
        channel_weights: optional K-vector multiplied into each labelled pixel's weight
            (``StepContext.channel_weights``); ignore pixels weigh 1.
        background_weight: extra factor in [0, 1] for pixels labelled background (0).

    Returns:
        scalar: Σ_p w_p (1 − cos) / #(non-new pixels); 0 when every pixel is new.
    """
    lab = downsample_labels(labels, tuple(pixel_emb.shape[-2:]))
    new = torch.isin(lab, torch.as_tensor(list(new_channels), device=lab.device, dtype=lab.dtype))
    weight = (~new).float()
    weight = torch.where(lab == 0, weight * background_weight, weight)
    if channel_weights is not None:
        labelled = lab != IGNORE
        per_pixel = channel_weights.float().to(lab.device)[torch.where(labelled, lab, torch.zeros_like(lab))]
        weight = torch.where(labelled, weight * per_pixel, weight)
    distance = cosine_distance(pixel_emb, old_pixel_emb, dim=1)
    return (weight * distance).sum() / (~new).sum().clamp_min(1)


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
    """Loss term: FOD (Incrementer Sec. 3.3), named ``inc_fod_visual`` and ``inc_fod_token``.

    Options: ``visual_weight`` (λ of the visual-token term), ``token_weight`` (λ of the class-token
    term), ``background_weight`` (factor in [0, 1] for background-labelled pixels). Runs only when a
    previous-step model exists. Labels are the current ones (after pseudo-labelling), so pixels
    pseudo-labelled as old classes count at full weight.
    """

    name = "inc_fod"

    def __init__(self, visual_weight: float = 1.0, token_weight: float = 1.0,
                 background_weight: float = 0.5) -> None:
        if visual_weight < 0 or token_weight < 0 or not 0.0 <= background_weight <= 1.0:
            raise ValidationError("part inc_fod: visual_weight and token_weight must be >= 0 and "
                                  f"background_weight in [0, 1], got {visual_weight}, {token_weight}, "
                                  f"{background_weight}")
        self.visual_weight = visual_weight
        self.token_weight = token_weight
        self.background_weight = background_weight

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        if ctx.old_out is None or not ctx.step.old_channels:
            return {}
        out = {}
        if self.visual_weight > 0:
            out["inc_fod_visual"] = self.visual_weight * visual_token_distillation(
                ctx.out.pixel_emb, ctx.old_out.pixel_emb, ctx.labels, ctx.step.new_channels,
                ctx.channel_weights, self.background_weight)
        if self.token_weight > 0:
            out["inc_fod_token"] = self.token_weight * class_token_distillation(
                ctx.out.class_emb, ctx.old_out.class_emb, ctx.step.old_channels, ctx.channel_weights)
        return out
