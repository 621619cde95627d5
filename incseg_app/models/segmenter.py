"""The segmentation model: an encoder, a class-token decoder, and growth by whole steps."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from torch import Tensor, nn

from .decoder import ClassTokenDecoder
from .encoders.base import Encoder
from .outputs import SegOutput
from .upsample import upsample_bilinear

log = logging.getLogger(__name__)


class Segmenter(nn.Module):
    """Encoder + ``ClassTokenDecoder``; logits are cosine masks upsampled to the input size.

    Channel k of the logits is class token k in step order (channel 0 = background, then the base
    classes, then each step's classes in the order they were added).

    Attributes:
        encoder: backbone returning fused features B×C×h×w.
        decoder: the mask transformer owning the class tokens and biases.
        stride: feature stride s (h = ceil(H / s)).
    """

    def __init__(self, encoder: Encoder, decoder: ClassTokenDecoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    @property
    def stride(self) -> int:
        return self.encoder.stride

    @property
    def token_groups(self) -> nn.ParameterList:
        """One K_s×D Parameter of class tokens per step (owned by the decoder)."""
        return self.decoder.token_groups

    @property
    def bias_groups(self) -> nn.ParameterList:
        """One K_s Parameter of logit biases per step (owned by the decoder)."""
        return self.decoder.bias_groups

    @property
    def group_sizes(self) -> tuple[int, ...]:
        """Class tokens per step, e.g. (1 + n_base, n_step1, ...)."""
        return tuple(int(t.shape[0]) for t in self.token_groups)

    @property
    def channel_steps(self) -> tuple[int, ...]:
        """Step index of every logit channel, length K: e.g. (0, 0, 0, 1, 1) for group sizes (3, 2)."""
        return tuple(step for step, size in enumerate(self.group_sizes) for _ in range(size))

    @property
    def num_classes(self) -> int:
        """K, the number of logit channels (background included)."""
        return sum(self.group_sizes)

    @property
    def temperature(self) -> float:
        return self.decoder.temperature

    def grow(self, n_new: int) -> None:
        """Append a step of ``n_new`` class tokens; the logits of existing channels do not change.

        New tokens are random with small norm and their biases zero (a method may re-initialise
        them, e.g. MiB's background initialisation, through ``token_groups[-1]``/``bias_groups[-1]``).
        """
        self.decoder.add_group(n_new)
        log.info("model grown by %d classes to %d channels (steps %s)", n_new, self.num_classes, self.group_sizes)

    def forward(self, images: Tensor) -> SegOutput:
        """images B×3×H×W RGB in [0, 1] -> ``SegOutput`` with logits B×K×H×W."""
        return self.forward_taps(self.encoder.backbone(images), images.shape[-2:])

    def forward_taps(self, taps: Sequence[Tensor], size: Sequence[int]) -> SegOutput:
        """Neck + decoder on backbone taps (``Encoder.backbone``) of an H×W input -> logits B×K×H×W.

        ``size`` = (H, W), the input size the taps belong to (a crop of cached taps: the crop's size).
        ``forward(images)`` is exactly ``forward_taps(encoder.backbone(images), images.shape[-2:])``.
        """
        height, width = size[0], size[1]  # ints, or traced sizes under torch.onnx.export: no int()/ceil()
        s = self.stride
        h, w = (height + s - 1) // s, (width + s - 1) // s
        features = self.encoder.neck(taps)[..., :h, :w]  # the taps cover the padded input (Encoder)
        masks, pixel_emb, class_emb = self.decoder(features)
        # feature i covers pixels [i·s, (i+1)·s): upsample by exactly s, then drop the padding
        logits = upsample_bilinear(masks, s)
        return SegOutput(logits=logits[..., :height, :width], pixel_emb=pixel_emb, class_emb=class_emb,
                         features=features)
