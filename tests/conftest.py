"""Test-wide settings: offline hubs, single-threaded torch (CI has 2 cores), deterministic seeds."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _torch_single_thread_and_seed():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        yield
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


TINY_OPENCLIP_NAME = "incseg-test-tiny-vit"
TINY_OPENCLIP_CFG = {  # a 1-layer ViT (patch 8, width 32) and a 1-layer text tower with the real vocabulary
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_openclip(tmp_path_factory) -> tuple[str, Path]:
    """A random tiny open_clip model registered as ``TINY_OPENCLIP_NAME`` and saved as a state-dict
    file: returns (model name, checkpoint path) for ``create_model(name, pretrained=str(path))``."""
    import json

    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("tiny_openclip")
    config = folder / f"{TINY_OPENCLIP_NAME}.json"
    config.write_text(json.dumps(TINY_OPENCLIP_CFG))
    open_clip.add_model_config(config)
    torch.manual_seed(1234)
    model = open_clip.create_model(TINY_OPENCLIP_NAME)
    checkpoint = folder / "tiny_openclip.pt"
    torch.save(model.state_dict(), checkpoint)
    return TINY_OPENCLIP_NAME, checkpoint
