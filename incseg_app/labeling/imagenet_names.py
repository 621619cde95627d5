"""A class-aware cue without CLIP: the ImageNet categories a user's class name names.

The classifier that ships with EfficientNet-Lite0's weights knows 1000 ImageNet categories by name
(torchvision's ``meta["categories"]``, the standard index order; no download). Applied densely
(class activation mapping, Zhou et al., CVPR 2016: logits w_k · f(x) + b_k at every position of the
last stage, then a softmax over the 1000), it says *which* of an image's tagged things is where —
the school bus, not the car beside it — which tags cannot tell when two classes always co-occur.

A class matches the categories whose **head noun** (the last word: English compounds are
head-final) equals the head noun of its name or of one of its prompts, or whose whole name equals
it: "bus" matches "school bus", "bottle" "beer bottle", "chair" "folding chair", but "car" does not
match "car mirror". Classes without a match (a "person" is no ImageNet category) get no cue.

``split_by_names`` uses the cue only to split the foreground mass the co-segmentation gives a
region among the image's tags (our choice; ablation in docs/benchmarks.md): the share of tag c is
multiplied by exp(λ_c · (cue_c(r) − mean_r cue_c)), the cue relative to the image, and renormalised;
background keeps its probability, so where the foreground is changes nowhere. The co-segmentation
reads the same ImageNet log-probabilities as features and learns from the tags which categories go
with a class, so the cue is a prior for classes with few tagged images: λ_c = λ · n₀ / (n₀ + n_c)
for a class tagged on n_c images (``name_weight``, our choice: 0.91 for one image, 0.05 for 200;
at λ_c = λ the cue cost 1.2 points of new-class mIoU on tiled CamVid, where each class has 130-600 tiles).

Shapes: region log-probabilities R×1000; probabilities (1+T)×R over [background, *tags].
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

NAME_WEIGHT = 1.0  # λ
PRIOR_IMAGES = 10  # n₀: tagged images at which the learnt classifier and the cue weigh the same


@functools.cache
def imagenet_categories() -> tuple[str, ...]:
    """The 1000 ImageNet-1k category names in index order (torchvision's weight metadata)."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.lower().replace("_", " ").replace("-", " ").split())


@functools.cache
def matching_categories(names: tuple[str, ...]) -> tuple[int, ...]:
    """Indices of the ImageNet categories named by any of ``names`` (a class name and its prompts)."""
    wanted = {_words(n) for n in names if _words(n)}
    heads = {w[-1] for w in wanted}
    return tuple(k for k, category in enumerate(imagenet_categories())
                 if _words(category) in wanted or _words(category)[-1] in heads)


def name_cue(region_log_probs: np.ndarray, categories: Sequence[int]) -> np.ndarray:
    """R×1000 region log-probabilities -> R float32 log of the summed probability of ``categories``."""
    sel = region_log_probs[:, list(categories)].astype(np.float32)
    top = sel.max(1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(sel - top).sum(1))).astype(np.float32)


def name_weight(tagged_images: int, prior_images: int | None = PRIOR_IMAGES) -> float:
    """λ_c of a class tagged on ``tagged_images`` images of the set: λ · n₀ / (n₀ + n_c); λ when
    ``prior_images`` is None (no shrinkage, the ablation)."""
    if prior_images is None:
        return NAME_WEIGHT
    return NAME_WEIGHT * prior_images / (prior_images + max(int(tagged_images), 0))


def split_by_names(probs: np.ndarray, region_log_probs: np.ndarray, names: Sequence[tuple[str, ...]],
                   weight: float | Sequence[float] = NAME_WEIGHT) -> np.ndarray:
    """(1+T)×R probabilities over [background, *tags] with the tags' share of each region's
    foreground re-split by their ImageNet-name cue; ``names[t]`` = (name, *prompts) of tag t;
    ``weight``: λ, one for every tag or one per tag. Unchanged when fewer than one tag has matching
    categories or there is one tag."""
    cats = [matching_categories(tuple(n)) for n in names]
    if len(names) < 2 or not any(cats):
        return probs
    fg = probs[1:].sum(0)
    share = probs[1:] / np.maximum(fg, 1e-12)
    weights = [float(weight)] * len(names) if np.isscalar(weight) else [float(w) for w in weight]
    for t, c in enumerate(cats):
        if c:
            cue = name_cue(region_log_probs, c)
            share[t] = share[t] * np.exp(weights[t] * (cue - cue.mean()))
    share = share / np.maximum(share.sum(0, keepdims=True), 1e-12)
    return np.concatenate([probs[:1], fg[None] * share]).astype(np.float32)
