"""Run a model over validation images and accumulate the confusion matrix (``metrics``).

Whole-image inference: each image goes through the model at its own size (or resized so that its
longer side is ``max_side``), and the logits are resized to the label's size before the argmax. The
ground truth is mapped through the version's channel map: classes the version has not learned are
background (overlapped CISS protocol), 255 is ignored. With a ``FeatureCache`` the frozen backbone's
taps of each image come from the cache (``training.taps``) and only the neck and decoder run.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.inputs import image_tensor
from .data import SegDataset, step_lookup
from .featcache import FeatureCache
from .metrics import confusion_matrix
from .taps import TapSource, predict_logits_cached
from .views import eval_view


@torch.no_grad()
def predict_logits(model: nn.Module, image: np.ndarray, device: torch.device, max_side: int | None = None
                   ) -> Tensor:
    """K×H×W float32 logits (CPU) of one H×W×3 uint8 image, resized back to the image's size."""
    x = image_tensor(image, device, max_side)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    with amp:
        logits = model(x).logits.float()
    if logits.shape[-2:] != image.shape[:2]:
        logits = F.interpolate(logits, size=image.shape[:2], mode="bilinear", align_corners=False)
    return logits[0].cpu()


def predict_channels(model: nn.Module, image: np.ndarray, device: torch.device, max_side: int | None = None
                     ) -> Tensor:
    """H×W int64 argmax channel of one H×W×3 uint8 image (CPU tensor)."""
    return predict_logits(model, image, device, max_side).argmax(0)


def predict_probabilities(model: nn.Module, image: np.ndarray, device: torch.device, max_side: int | None = None,
                          source: TapSource | None = None, image_key: str | None = None) -> Tensor:
    """K×H×W softmax probabilities in [0, 1] (CPU) of one H×W×3 uint8 image.

    With ``source`` (a ``TapSource`` made from ``model``, e.g. over the store's feature cache) the
    backbone taps come from the cache, keyed by ``image_key`` (the image blob's hash; default: a hash
    of the pixels), so pseudo-labelling images that training or evaluation already encoded is cheap.
    """
    item = {"image": image, "image_key": image_key}
    return item_logits(model, item, device, max_side, source).softmax(0)


def predict_mask(model: nn.Module, image: np.ndarray, class_ids: Sequence[int], device: torch.device,
                 max_side: int | None = None) -> np.ndarray:
    """H×W uint8 stable class ids predicted for one image (channel -> ``class_ids[channel]``)."""
    ids = torch.tensor(list(class_ids), dtype=torch.uint8)
    return ids[predict_channels(model, image, device, max_side)].numpy()


def item_logits(model: nn.Module, item: Mapping[str, Any], device: torch.device, max_side: int | None = None,
                source: TapSource | None = None) -> Tensor:
    """K×H×W float32 CPU logits of a raw item's image: through ``source``'s cached backbone taps when
    given (neck + decoder only; ``source`` must be made from ``model``), else ``predict_logits``."""
    if source is None:
        return predict_logits(model, item["image"], device, max_side)
    height, width = np.asarray(item["image"]).shape[:2]
    return predict_logits_cached(model, source, item, eval_view(height, width, max_side))


@torch.no_grad()
def predict_masks(model: nn.Module, images: Sequence[np.ndarray], class_ids: Sequence[int], device: torch.device,
                  max_side: int | None = None) -> list[np.ndarray]:
    """``predict_mask`` of several H×W×3 uint8 images; images of one size run as one batch."""
    ids = torch.tensor(list(class_ids), dtype=torch.uint8)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(tuple(np.asarray(image).shape), []).append(i)
    out: list[np.ndarray] = [np.empty(0, np.uint8)] * len(images)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    for shape, members in groups.items():
        x = torch.cat([image_tensor(images[i], device, max_side) for i in members])
        with amp:
            logits = model(x).logits.float()
        if logits.shape[-2:] != shape[:2]:
            logits = F.interpolate(logits, size=shape[:2], mode="bilinear", align_corners=False)
        for j, i in enumerate(members):
            out[i] = ids[logits[j].argmax(0).cpu()].numpy()
    return out


def evaluate(model: nn.Module, data: SegDataset, class_ids: Sequence[int], device: torch.device, *,
             max_side: int | None = None, should_cancel: Callable[[], bool] | None = None,
             feature_cache: FeatureCache | None = None) -> Tensor:
    """K×K int64 confusion matrix (rows = ground-truth channel) of ``model`` over ``data``.

    With ``feature_cache`` the backbone taps of each image are read from (or added to) the cache, so
    evaluating several versions that share a frozen backbone encodes every image once.
    """
    lookup = torch.from_numpy(step_lookup(class_ids, class_ids[1:]).astype(np.int64))
    k = len(class_ids)
    cm = torch.zeros(k, k, dtype=torch.int64)
    was_training = model.training
    model.eval()
    source = TapSource(model, feature_cache, device) if feature_cache is not None else None
    try:
        for i in range(len(data)):
            if should_cancel is not None and should_cancel():
                from ..domain.errors import CancelledError
                raise CancelledError(f"evaluation cancelled after {i} images")
            item = data[i]
            target = lookup[torch.from_numpy(np.asarray(item["mask"]).astype(np.int64))]
            cm += confusion_matrix(item_logits(model, item, device, max_side, source).argmax(0), target, k)
    finally:
        model.train(was_training)
    return cm
