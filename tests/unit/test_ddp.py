"""Data parallelism: two gloo CPU ranks with half batches end with the weights of one rank."""
from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.registry import get_method
from incseg_app.models.build import build_model
from incseg_app.training.checkpoint import Checkpoint
from incseg_app.training.data import InMemoryDataset
from incseg_app.training.ddp import DistInfo
from incseg_app.training.step import run_incremental_step

MODEL = ModelConfig(encoder="tiny", pretrained=False, embed_dim=32, decoder_heads=4, decoder_layers=1)
# whole images (and their mirror): with 32-px crops the stride-32 tap is 1×1, GroupNorm cancels some gradients to
# rounding noise, and Adam's first, sign-like step turns that noise into lr-sized differences between rank layouts
# (and the trained weights themselves: rounding them for compact storage could round two nearly equal values apart)
TRAIN = TrainConfig(epochs=2, batch_size=4, crop_size=64, lr=3e-3, seed=0, scales=(1.0,), delta_weights=False)


def _data() -> InMemoryDataset:
    """64×64 images, no ignored pixels: every rank's loss averages the same number of pixels."""
    rng = np.random.default_rng(1)
    items = []
    for i in range(8):
        mask = np.zeros((64, 64), np.uint8)
        mask[: 20 + 2 * i, :30], mask[40:, 10 + i:] = 1, 3
        image = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
        image[mask == 3] //= 3
        items.append({"image": image, "mask": mask})
    return InMemoryDataset(items)


def _train(parent_file: str, dist_info: DistInfo | None) -> dict[str, torch.Tensor]:
    parent = Checkpoint(load_file(parent_file), MODEL, (3,), (0, 1, 2))
    method = get_method("mib")
    result = run_incremental_step(MODEL, TRAIN, method, MethodConfig("mib"), _data(), [3], parent, dist_info=dist_info)
    return {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}


def _rank(rank: int, world: int, init_file: str, parent_file: str, out_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        state = _train(parent_file, DistInfo(rank, world))
        if rank == 0:
            save_file(state, out_file)
    finally:
        dist.destroy_process_group()


def test_two_cpu_ranks_match_one_rank(tmp_path):
    torch.manual_seed(0)
    parent_file = str(tmp_path / "parent.safetensors")
    save_file({k: v.contiguous() for k, v in build_model(MODEL, (3,)).state_dict().items()}, parent_file)
    out_file = str(tmp_path / "rank0.safetensors")
    mp.spawn(_rank, args=(2, str(tmp_path / "init"), parent_file, out_file), nprocs=2, join=True)
    two = load_file(out_file)
    one = _train(parent_file, None)
    start = load_file(parent_file)
    assert not torch.equal(one["decoder.input_proj.weight"], start["decoder.input_proj.weight"])
    d = MODEL.embed_dim
    for name, value in one.items():
        if name.endswith("qkv.bias"):
            # the key bias adds the same q·b_k to every attention logit of a query, so its exact gradient is
            # 0; Adam divides the rounding noise (which differs between one sum over 4 images and 2 + 2) by
            # its own tiny RMS and moves it by ~lr. Compare the query and value biases only.
            value, other = torch.cat([value[:d], value[2 * d:]]), torch.cat([two[name][:d], two[name][2 * d:]])
        else:
            other = two[name]
        assert torch.allclose(other, value, atol=1e-5, rtol=1e-4), name

