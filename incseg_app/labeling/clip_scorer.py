"""CLIP class maps: dense image–text similarity from an open_clip ViT (MaskCLIP).

MaskCLIP (Zhou et al., "Extract Free Dense Labels from CLIP", ECCV 2022, Sec. 3.2) observes that
CLIP's last attention block pools the image into the class token, so its patch outputs are not
localised; dropping the query–key attention of that block and keeping only the value path
(value projection -> output projection -> residual -> MLP), then ``ln_post`` and the visual
projection, gives per-patch embeddings in the joint image–text space. FMWISS (Yu et al., CVPR
2023, Sec. 3.2) uses these as the class-aware half of its co-segmentation: cosine similarity with
each tagged class's text embedding, softmax against a background embedding at a temperature.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..domain.config import looks_like_file
from ..domain.errors import WeightsUnavailableError
from .protocols import TaggedClass, check_image

log = logging.getLogger(__name__)

PROMPT_TEMPLATES = (
    "a photo of a {}.", "a photo of the {}.", "a bad photo of a {}.", "a photo of a small {}.",
    "a photo of a large {}.", "there is a {} in the scene.", "a cropped photo of the {}.",
)
BACKGROUND_PROMPTS = ("background", "ground", "wall", "sky")


def describe_pretrained(pretrained: str) -> str:
    return f"file {Path(pretrained).name}" if looks_like_file(pretrained) else f"tag {pretrained!r}"


def load_clip(model_name: str, pretrained: str) -> tuple[nn.Module, object]:
    """Build an open_clip model and its tokenizer on CPU, in eval mode.

    ``pretrained`` is an open_clip tag (resolved from open_clip's cache) or a local weights file
    (``.safetensors`` or a state dict read with ``torch.load(weights_only=True)``).
    Raises ``WeightsUnavailableError`` naming the file/tag and the reason when it cannot be loaded.
    """
    import open_clip  # imported here: it is heavy and only needed when CLIP weights are configured

    if looks_like_file(pretrained) and not os.path.isfile(pretrained):
        raise WeightsUnavailableError(
            f"CLIP weights file {pretrained} does not exist; fix --clip-pretrained or leave it empty to use "
            "the tag localiser fallback")
    try:
        model, _, _ = open_clip.create_model_and_transforms(model_name, pretrained=pretrained, device="cpu")
        tokenizer = open_clip.get_tokenizer(model_name)
    except Exception as exc:  # open_clip raises RuntimeError/KeyError/OSError for every kind of bad weight
        raise WeightsUnavailableError(
            f"CLIP model {model_name} with {describe_pretrained(pretrained)} could not be loaded: {exc}. "
            "Leave --clip-pretrained empty to use the co-segmentation fallback") from exc
    model.eval()
    log.info("loaded CLIP %s with %s", model_name, describe_pretrained(pretrained))
    return model, tokenizer


def _interpolate_pos(pos: Tensor, grid: tuple[int, int], new_grid: tuple[int, int]) -> Tensor:
    """(1 + g0·g1)×C learnt positions -> (1 + n0·n1)×C, patch part resized bicubically."""
    if tuple(grid) == tuple(new_grid):
        return pos
    cls, patches = pos[:1], pos[1:]
    patches = patches.reshape(1, grid[0], grid[1], -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=new_grid, mode="bicubic", align_corners=False)
    return torch.cat([cls, patches.permute(0, 2, 3, 1).reshape(-1, pos.shape[1])], dim=0)


def maskclip_features(visual: nn.Module, images: Tensor) -> Tensor:
    """MaskCLIP dense features (Zhou et al. 2022, Sec. 3.2) of an open_clip ``VisionTransformer``.

    images: B×3×H×W normalised with the model's mean/std, H and W multiples of the patch size.
    Returns B×h×w×D patch embeddings in the text space (h = H/patch), not normalised.
    """
    blocks = visual.transformer.resblocks
    last = blocks[-1]
    if getattr(visual, "attn_pool", None) is not None or not isinstance(getattr(last, "attn", None),
                                                                        nn.MultiheadAttention):
        raise WeightsUnavailableError("CLIP visual tower is not a plain open_clip ViT; MaskCLIP needs one")
    b, _, height, width = images.shape
    grid = (height // visual.patch_size[0], width // visual.patch_size[1])
    x = visual.conv1(images).flatten(2).transpose(1, 2)  # B×N×C
    cls = visual.class_embedding.view(1, 1, -1).expand(b, 1, -1).to(x.dtype)
    x = torch.cat([cls, x], dim=1) + _interpolate_pos(visual.positional_embedding, visual.grid_size, grid)
    x = visual.ln_pre(x)
    batch_first = getattr(visual.transformer, "batch_first", True)
    x = x if batch_first else x.transpose(0, 1)
    for block in blocks[:-1]:
        x = block(x)
    x = x if batch_first else x.transpose(0, 1)
    attn = last.attn
    dim = attn.embed_dim
    value = F.linear(last.ln_1(x), attn.in_proj_weight[2 * dim:], attn.in_proj_bias[2 * dim:]
                     if attn.in_proj_bias is not None else None)
    v = x + last.ls_1(attn.out_proj(value))  # value path only: no query-key mixing
    v = v + last.ls_2(last.mlp(last.ln_2(v)))
    v = visual.ln_post(v[:, 1:])
    return (v @ visual.proj).reshape(b, grid[0], grid[1], -1)


class ClipScorer:
    """``ClassMapSource`` backed by an open_clip ViT (MaskCLIP dense features).

    Args:
        model: an open_clip CLIP model with a ViT visual tower (eval mode, CPU or CUDA).
        tokenizer: the model's tokenizer (``open_clip.get_tokenizer``).
        description: one human line naming the model and its weights.
        temperature: softmax temperature over cosine similarities (CLIP's own is 0.01).
        short_side: pixels of the shorter image side fed to the ViT (default: its training size).
    """

    def __init__(self, model: nn.Module, tokenizer: object, description: str, temperature: float = 0.01,
                 short_side: int | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.description = description
        self.temperature = temperature
        visual = model.visual
        self.short_side = short_side or int(visual.image_size[0])
        cfg = getattr(visual, "preprocess_cfg", None) or {}
        mean = cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))
        std = cfg.get("std", (0.26862954, 0.26130258, 0.27577711))
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self._text_cache: dict[tuple[str, ...], Tensor] = {}
        self.text_encode_calls = 0

    @classmethod
    def from_config(cls, model_name: str, pretrained: str, **kwargs: object) -> ClipScorer:
        """Load ``model_name`` with ``pretrained`` (tag or file) through ``load_clip``."""
        model, tokenizer = load_clip(model_name, pretrained)
        return cls(model, tokenizer, f"clip {model_name} ({describe_pretrained(pretrained)})", **kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def text_embedding(self, prompts: Sequence[str]) -> Tensor:
        """D-dim unit text embedding of a prompt set: templates × prompts, averaged (cached)."""
        key = tuple(prompts)
        if key not in self._text_cache:
            texts = [template.format(p) for p in key for template in PROMPT_TEMPLATES]
            tokens = self.tokenizer(texts).to(self.device)
            emb = F.normalize(self.model.encode_text(tokens).float(), dim=-1).mean(dim=0)
            self._text_cache[key] = F.normalize(emb, dim=0)
            self.text_encode_calls += 1
        return self._text_cache[key]

    def _input(self, image: np.ndarray) -> Tensor:
        """H×W×3 uint8 -> 1×3×h×w normalised, shorter side ``short_side``, sides multiples of the patch."""
        patch = self.model.visual.patch_size
        h, w = image.shape[:2]
        scale = self.short_side / min(h, w)
        size = (max(patch[0], round(h * scale / patch[0]) * patch[0]),
                max(patch[1], round(w * scale / patch[1]) * patch[1]))
        x = torch.tensor(image).permute(2, 0, 1)[None].float().div(255.0)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return ((x - self._mean) / self._std).to(self.device)

    @torch.no_grad()
    def __call__(self, image: np.ndarray, classes: Sequence[TaggedClass]) -> np.ndarray:
        """image H×W×3 uint8 -> K×H×W float32 probabilities (softmax over background + tagged classes)."""
        check_image(image)
        if not classes:
            return np.zeros((0, *image.shape[:2]), np.float32)
        text = torch.stack([self.text_embedding(BACKGROUND_PROMPTS)]
                           + [self.text_embedding(prompts) for _, prompts in classes])  # (K+1)×D
        feats = F.normalize(maskclip_features(self.model.visual, self._input(image)).float(), dim=-1)
        sims = torch.einsum("bhwd,kd->bkhw", feats, text)
        sims = F.interpolate(sims, size=image.shape[:2], mode="bilinear", align_corners=False)
        probs = torch.softmax(sims / self.temperature, dim=1)[0, 1:]
        return probs.cpu().numpy().astype(np.float32)
