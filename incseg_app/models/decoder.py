"""Class-token mask-transformer decoder with step-causal attention.

A Segmenter-style mask transformer (Strudel et al., "Segmenter: Transformer for Semantic
Segmentation", ICCV 2021, Sec. 3.2 "Mask Transformer") as used for class-incremental segmentation
by Incrementer (Shang et al., CVPR 2023, Sec. 3.2): learnable class tokens, one group per
incremental step, are processed jointly with the pixel tokens by ``decoder_layers`` transformer
layers; the mask of class k is the cosine similarity between the L2-normalised pixel embeddings
and the L2-normalised output embedding of class token k, divided by a temperature tau, plus a
per-class bias:  ``masks[b, k, n] = cos(p[b, n], c[b, k]) / tau + bias[k]``.

Step-causal attention (a deliberate departure from full joint attention): class tokens of step s
attend to the pixel tokens and the class tokens of steps <= s; pixel tokens attend to pixel tokens
and the base-step (step 0) class tokens only. Reason: with full attention, appending tokens for a
new step would change every pixel embedding and every old class embedding, so the old classes'
logits would move at the moment of growth. With this mask nothing computed for steps <= s depends
on tokens of later steps, so ``grow`` is exactly output-preserving for the existing channels (the
old model's logits are reproduced bit for bit), which the incremental methods (distillation,
pseudo-labels, MiB initialisation) rely on. The decoder stays shared and trainable at every step.
The implementation runs one attention call per step group (queries of group s against the keys
of groups <= s) rather than one masked call, so the tensors of old groups keep their shapes when
the model grows and their results are bitwise identical.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..domain.errors import ValidationError

NEW_TOKEN_STD = 0.02  # small-norm random init of new class tokens
MAX_LOGIT_SCALE = 100.0  # 1/tau cap for a learned temperature, as CLIP caps its logit scale


def sincos_position_encoding(h: int, w: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Fixed 2-D sine/cosine positional encoding, (h·w)×dim, row-major like ``flatten(2)``.

    A quarter of the channels each hold sin(y), cos(y), sin(x), cos(x) at geometric frequencies
    (Vaswani et al. 2017, Sec. 3.5, applied per axis); leftover channels (dim % 4) are zero. Being
    parameter-free, it works for any feature-map size.
    """
    quarter = dim // 4
    freqs = 1.0 / (10000.0 ** (torch.arange(quarter, device=device, dtype=torch.float32) / max(quarter, 1)))
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * freqs  # h×q
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * freqs  # w×q
    pe = torch.zeros(h, w, dim, device=device, dtype=torch.float32)
    pe[..., 0 * quarter:1 * quarter] = ys.sin()[:, None, :]
    pe[..., 1 * quarter:2 * quarter] = ys.cos()[:, None, :]
    pe[..., 2 * quarter:3 * quarter] = xs.sin()[None, :, :]
    pe[..., 3 * quarter:4 * quarter] = xs.cos()[None, :, :]
    return pe.reshape(h * w, dim).to(dtype)


class StepCausalLayer(nn.Module):
    """Pre-norm transformer layer (attention + MLP) over [pixel tokens; class tokens by step].

    Group 0 is the sequence [pixel tokens; step-0 class tokens] (full self-attention inside it);
    group s > 0 holds the step-s class tokens, whose queries attend to the keys of groups 0..s.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """B×L×D -> q, k, v each B×heads×L×(D/heads)."""
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def forward(self, groups: Sequence[Tensor]) -> list[Tensor]:
        """groups: [B×(N+K_0)×D, B×K_1×D, ...] -> same shapes, one layer further."""
        keys: list[Tensor] = []
        values: list[Tensor] = []
        result = []
        for x in groups:
            q, k, v = self._split(x)
            keys.append(k)
            values.append(v)
            att = F.scaled_dot_product_attention(q, torch.cat(keys, dim=2), torch.cat(values, dim=2))
            x = x + self.out(att.transpose(1, 2).flatten(2))
            result.append(x + self.mlp(self.norm2(x)))
        return result


class ClassTokenDecoder(nn.Module):
    """Maps fused encoder features to per-class cosine masks with growing class-token groups.

    The mask transformer of Segmenter (Strudel et al. 2021, Sec. 3.2) with Incrementer's per-step
    class tokens (Shang et al. 2023, Sec. 3.2) and the step-causal attention described above.

    Args:
        in_channels: C of the encoder features.
        embed_dim: D, the decoder width.
        num_layers: transformer layers.
        num_heads: attention heads (divides D).
        group_sizes: class tokens per step, e.g. (1 + n_base, n_step1, ...); channel 0 = background.
        temperature: tau in cos / tau (initial value when learnable).
        learn_temperature: learn log(1/tau) instead of keeping it fixed.

    Attributes:
        token_groups: one K_s×D Parameter per step (the class tokens, Incrementer Sec. 3.2).
        bias_groups: one K_s Parameter per step (added to the scaled cosine).
    """

    def __init__(self, in_channels: int, embed_dim: int, num_layers: int, num_heads: int,
                 group_sizes: Sequence[int], temperature: float, learn_temperature: bool) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_proj = nn.Conv2d(in_channels, embed_dim, 1)
        self.layers = nn.ModuleList(StepCausalLayer(embed_dim, num_heads) for _ in range(num_layers))
        self.pixel_norm = nn.LayerNorm(embed_dim)
        self.pixel_head = nn.Linear(embed_dim, embed_dim)
        self.class_norm = nn.LayerNorm(embed_dim)
        self.class_head = nn.Linear(embed_dim, embed_dim)
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learn_temperature:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.token_groups = nn.ParameterList()
        self.bias_groups = nn.ParameterList()
        for size in group_sizes:
            self.add_group(size)

    def add_group(self, n_new: int) -> None:
        """Append a step of ``n_new`` class tokens (N(0, 0.02²) init) and zero biases."""
        if n_new < 1:
            raise ValidationError(f"a step must add at least one class token, got {n_new}")
        ref = self.input_proj.weight
        tokens = torch.randn(n_new, self.embed_dim, device=ref.device, dtype=ref.dtype) * NEW_TOKEN_STD
        self.token_groups.append(nn.Parameter(tokens))
        self.bias_groups.append(nn.Parameter(torch.zeros(n_new, device=ref.device, dtype=ref.dtype)))

    @property
    def temperature(self) -> float:
        """Current tau (cos / tau)."""
        return 1.0 / float(self._scale().detach())

    def _scale(self) -> Tensor:
        """1/tau, capped at ``MAX_LOGIT_SCALE``."""
        return self.log_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """features B×C×h×w -> (masks B×K×h×w, pixel_emb B×D×h×w, class_emb B×K×D).

        ``pixel_emb`` and ``class_emb`` are L2-normalised along D; masks are
        cos / tau + bias, so they lie in [-1/tau + bias, 1/tau + bias].
        """
        b, _, h, w = features.shape
        x = self.input_proj(features)
        pixels = x.flatten(2).transpose(1, 2) + sincos_position_encoding(h, w, self.embed_dim, x.device, x.dtype)
        n = h * w
        groups = [torch.cat([pixels, self.token_groups[0].expand(b, -1, -1)], dim=1)]
        groups += [tok.expand(b, -1, -1) for tok in list(self.token_groups)[1:]]
        for layer in self.layers:
            groups = layer(groups)
        pixel_emb = F.normalize(self.pixel_head(self.pixel_norm(groups[0][:, :n])), dim=-1)  # B×N×D
        groups[0] = groups[0][:, n:]
        scale = self._scale()
        class_embs, masks = [], []
        for g, bias in zip(groups, self.bias_groups):
            c = F.normalize(self.class_head(self.class_norm(g)), dim=-1)  # B×K_s×D
            class_embs.append(c)
            masks.append(torch.einsum("bkd,bnd->bkn", c, pixel_emb) * scale + bias[None, :, None])
        masks_t = torch.cat(masks, dim=1).reshape(b, -1, h, w)
        pixel_map = pixel_emb.transpose(1, 2).reshape(b, self.embed_dim, h, w)
        return masks_t, pixel_map, torch.cat(class_embs, dim=1)
