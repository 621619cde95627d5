"""SAM refiner: class-agnostic masks from Segment Anything, prompted by the class maps.

FMWISS (Yu et al., CVPR 2023, Sec. 3.2) refines CLIP's coarse class-aware maps with a
class-agnostic foundation model. Here each tagged class's (peak-normalised) map seeds SAM
(Kirillov et al., ICCV 2023) with a few positive points at its local maxima and the box of its
thresholded region; of SAM's three multimask outputs the one that best agrees with the class map
(predicted IoU × soft IoU with the map) is kept. The image embedding, SAM's expensive part, is
cached per image content so a second pass (click-to-refine) only runs the light mask decoder: the
cache holds one ``SamPredictor`` per image (they share the model), each set with its public
``set_image``, so no private field of the predictor is ever written.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from cachetools import LRUCache
from torch import nn

from ..domain.errors import WeightsUnavailableError
from ..domain.records import BACKGROUND_ID
from .fusion import check_clicks, peak_prompts, touched_components
from .protocols import Click, check_image, image_key

log = logging.getLogger(__name__)


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, pickle-free: safetensors, else ``torch.load(weights_only=True)``."""
    if not os.path.isfile(path):
        raise WeightsUnavailableError(
            f"SAM checkpoint {path} does not exist; fix --sam-checkpoint or leave it empty to use the superpixel "
            "fallback")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file
            return load_file(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickled objects refused by weights_only, wrong format
        raise WeightsUnavailableError(f"SAM checkpoint {path} could not be read: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsUnavailableError(f"SAM checkpoint {path} holds no state dict")
    return state


def load_sam(checkpoint: str, model_type: str,
             builders: Mapping[str, Callable[..., nn.Module]] | None = None) -> nn.Module:
    """Build SAM of ``model_type`` (a key of ``segment_anything.sam_model_registry`` or of
    ``builders``) without weights, then load ``checkpoint`` strictly. Eval mode, CPU."""
    if builders is None:
        from segment_anything import sam_model_registry
        builders = sam_model_registry
    if model_type not in builders:
        raise WeightsUnavailableError(f"unknown SAM model type {model_type!r}; use one of {', '.join(builders)}")
    state = read_state_dict(checkpoint)
    sam = builders[model_type](checkpoint=None)
    try:
        sam.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsUnavailableError(
            f"SAM checkpoint {checkpoint} does not match model type {model_type}: {str(exc)[:300]}") from exc
    log.info("loaded SAM %s from %s", model_type, checkpoint)
    return sam.eval()


class SamRefiner:
    """``Refiner`` backed by ``segment_anything.SamPredictor`` with an image-embedding cache.

    Args:
        sam: a ``segment_anything.Sam`` (eval mode).
        description: one human line naming the checkpoint.
        max_points: positive points per class prompt.
        cache_size: images whose embeddings are kept.
    """

    def __init__(self, sam: nn.Module, description: str, max_points: int = 3, cache_size: int = 4) -> None:
        from segment_anything import SamPredictor

        self.sam = sam
        self._make_predictor = SamPredictor
        self.predictor = SamPredictor(sam)
        self.description = description
        self.max_points = max_points
        self._cache: LRUCache = LRUCache(maxsize=cache_size)
        self.embed_calls = 0

    @classmethod
    def from_checkpoint(cls, checkpoint: str, model_type: str,
                        builders: Mapping[str, Callable[..., nn.Module]] | None = None) -> SamRefiner:
        sam = load_sam(checkpoint, model_type, builders)
        return cls(sam, f"sam {model_type} (file {Path(checkpoint).name})")

    def set_image(self, image: np.ndarray) -> None:
        """Make ``image`` current: the cached predictor that embedded it, else a new one (``set_image``)."""
        key = image_key(check_image(image))
        cached = self._cache.get(key)
        if cached is None:
            self.embed_calls += 1
            cached = self.predictor if not self.predictor.is_image_set else self._make_predictor(self.sam)
            cached.set_image(image)
            self._cache[key] = cached
        self.predictor = cached

    def _predict(self, points: np.ndarray, labels: np.ndarray, box: np.ndarray | None,
                 guide: np.ndarray | None) -> np.ndarray:
        """H×W mask probabilities of the best multimask output (weighted by agreement with ``guide``)."""
        logits, iou, _ = self.predictor.predict(point_coords=points, point_labels=labels, box=box,
                                                multimask_output=True, return_logits=True)
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        quality = iou.astype(np.float64)
        if guide is not None:
            inter = (probs * guide).reshape(len(probs), -1).sum(1)
            union = (probs + guide - probs * guide).reshape(len(probs), -1).sum(1)
            quality = quality * inter / np.maximum(union, 1e-6)
        return probs[int(np.argmax(quality))].astype(np.float32)

    def refine(self, image: np.ndarray, maps: np.ndarray) -> np.ndarray:
        """K×H×W peak-normalised maps -> K×H×W: SAM's mask probability of each class times the
        class map's mean inside that mask (how much of the class evidence SAM's region holds)."""
        self.set_image(image)
        out = np.zeros(maps.shape, np.float32)
        for k, class_map in enumerate(maps):
            prompts = peak_prompts(class_map, self.max_points)
            if prompts is None:
                continue
            points, box = prompts
            probs = self._predict(points, np.ones(len(points), np.int64), box, class_map)
            inside = probs > 0.5
            evidence = float(class_map[inside].mean()) if inside.any() else 0.0
            out[k] = probs * evidence
        return out

    def click(self, image: np.ndarray, mask: np.ndarray, class_id: int, points: Sequence[Click]) -> np.ndarray:
        """SAM with the clicks as point prompts (plus the box of the ``class_id`` regions they touch):
        those regions are replaced by SAM's mask. Returns a new H×W uint8 mask."""
        clicks = check_clicks(mask, class_id, points)
        if not clicks:
            return mask.copy()
        self.set_image(image)
        touched = touched_components(mask, class_id, clicks)
        if not touched.any() and not any(positive for _, _, positive in clicks):
            return mask.copy()
        box = None
        if touched.any():
            ys, xs = np.nonzero(touched)
            box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float32)
        coords = np.array([(x, y) for x, y, _ in clicks], dtype=np.float32)
        labels = np.array([int(positive) for _, _, positive in clicks], dtype=np.int64)
        region = self._predict(coords, labels, box, None) > 0.5
        out = mask.copy()
        out[touched] = BACKGROUND_ID
        out[region] = class_id
        return out
