"""Data parallelism: two gloo CPU ranks started by ``torchrun --nproc_per_node 2``, with half batches each,
end with the weights of one rank (``DistributedDataParallel`` over the model and the parts' modules).

Run as a script, this file is the rank worker: ``torchrun ... test_ddp.py PARENT OUT``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from incseg_app.domain.config import MethodConfig, ModelConfig, TrainConfig
from incseg_app.methods.registry import get_method
from incseg_app.models.build import build_model
from incseg_app.training.checkpoint import Checkpoint
from incseg_app.training.data import InMemoryDataset
from incseg_app.training.ddp import DistInfo, init_from_env
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


def _worker(parent_file: str, out_file: str) -> None:
    """One torchrun rank: join the gloo group from torchrun's environment, train, rank 0 saves."""
    torch.set_num_threads(1)
    info = init_from_env("cpu")
    assert info is not None and info.world_size == 2
    try:
        state = _train(parent_file, info)
        if info.is_main:
            save_file(state, out_file)
        dist.barrier()  # neither rank tears its gloo connections down while the other still uses them
    finally:
        dist.destroy_process_group()


def test_two_cpu_ranks_match_one_rank(tmp_path):
    torch.manual_seed(0)
    parent_file = str(tmp_path / "parent.safetensors")
    save_file({k: v.contiguous() for k, v in build_model(MODEL, (3,)).state_dict().items()}, parent_file)
    out_file = str(tmp_path / "rank0.safetensors")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests")]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           __file__, parent_file, out_file]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    two = load_file(out_file)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank: BLAS kernels may sum in another order with more threads
    try:
        one = _train(parent_file, None)
    finally:
        torch.set_num_threads(threads)
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
        # atol: a third of the backbone's lr (3e-4): Adam turns a near-zero gradient's rounding noise into
        # up to lr-sized steps; MiB's noisy token copy leaves a few such coordinates in the tiny encoder
        # (measured: ≤ 6e-5 in two of its convolutions, ≤ 5e-7 everywhere else). A rank that skipped the
        # gradient averaging would differ by whole steps of the decoder's lr (3e-3) after 4 iterations.
        assert torch.allclose(other, value, atol=1e-4, rtol=1e-4), name



if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
