"""The model's input from a stored image: the one conversion evaluation, prediction and the labeller share."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def image_tensor(image: np.ndarray, device: torch.device, max_side: int | None = None) -> Tensor:
    """H×W×3 uint8 -> 1×3×h×w float in [0, 1] on ``device``; resized (bilinear) so that its longer side is
    ``max_side`` when that is set, else h×w = H×W. The array is copied (stored arrays may be read-only)."""
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float().div_(255.0).to(device)
    if max_side and max(x.shape[-2:]) != max_side:
        scale = max_side / max(x.shape[-2:])
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return x
