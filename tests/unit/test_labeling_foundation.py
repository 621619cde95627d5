"""CLIP and SAM sources with tiny random models built here, saved to files and loaded back through
the product's own loading code (``ClipScorer.from_config``, ``SamRefiner.from_checkpoint``,
``build_labeler``). Nothing is downloaded."""
from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import torch

from incseg_app.domain.config import LabelingConfig
from incseg_app.domain.errors import WeightsUnavailableError
from incseg_app.labeling import ClipScorer, SamRefiner, SuperpixelRefiner, build_labeler
from incseg_app.labeling.clip_scorer import maskclip_features

open_clip = pytest.importorskip("open_clip")
segment_anything = pytest.importorskip("segment_anything")

CLIP_NAME = "incseg-tiny-clip"
CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
SAM_SIZE = 64


def build_tiny_sam(checkpoint: str | None = None) -> torch.nn.Module:
    """A SAM with a 1-block 32-wide ViT on 64×64 inputs (4×4 embedding grid), random weights."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    dim, patch = 32, 16
    grid = SAM_SIZE // patch
    return Sam(
        image_encoder=ImageEncoderViT(img_size=SAM_SIZE, patch_size=patch, embed_dim=dim, depth=1, num_heads=2,
                                      out_chans=dim, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(grid, grid),
                                     input_image_size=(SAM_SIZE, SAM_SIZE), mask_in_chans=4),
        mask_decoder=MaskDecoder(transformer_dim=dim, num_multimask_outputs=3, iou_head_depth=2,
                                 iou_head_hidden_dim=16,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=64, num_heads=2)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375],
    ).eval()


TINY_SAM = {"tiny": build_tiny_sam}


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> str:
    """A random tiny open_clip model registered under ``CLIP_NAME``, saved as safetensors."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("clip")
    (root / f"{CLIP_NAME}.json").write_text(json.dumps(CLIP_CFG))
    open_clip.add_model_config(root)
    torch.manual_seed(0)
    model = open_clip.create_model(CLIP_NAME)
    path = root / "tiny_clip.safetensors"
    save_file(model.state_dict(), str(path))
    return str(path)


@pytest.fixture(scope="module")
def sam_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sam") / "tiny_sam.pth"
    torch.manual_seed(0)
    torch.save(build_tiny_sam().state_dict(), path)
    return str(path)


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (48, 64, 3), dtype=np.uint8)
    img[10:30, 20:44] = (220, 40, 40)
    return img


def test_clip_scorer_loads_file_and_maps_tagged_classes(clip_file, image):
    scorer = ClipScorer.from_config(CLIP_NAME, clip_file)
    maps = scorer(image, [(3, ("dog",)), (7, ("cat", "kitten"))])
    assert maps.shape == (2, 48, 64) and maps.dtype == np.float32
    assert 0.0 <= maps.min() and maps.sum(axis=0).max() <= 1.0 + 1e-5  # background keeps the remainder
    assert scorer.description == f"clip {CLIP_NAME} (file tiny_clip.safetensors)"


def test_clip_text_embeddings_are_cached(clip_file, image):
    scorer = ClipScorer.from_config(CLIP_NAME, clip_file)
    scorer(image, [(3, ("dog",))])
    assert scorer.text_encode_calls == 2  # background + dog
    scorer(image, [(3, ("dog",)), (4, ("cat",))])
    assert scorer.text_encode_calls == 3  # only "cat" is new
    first = scorer.text_embedding(("dog",))
    assert scorer.text_encode_calls == 3 and torch.allclose(first.norm(), torch.tensor(1.0))


def test_maskclip_features_equal_self_attention_only_last_block(clip_file):
    """The value-path trick is what the last block computes when each token may attend only to itself."""
    model = ClipScorer.from_config(CLIP_NAME, clip_file).model
    visual = model.visual
    x = torch.randn(1, 3, 32, 32)
    dense = maskclip_features(visual, x)
    tokens = visual._embeds(x)
    for block in visual.transformer.resblocks[:-1]:
        tokens = block(tokens)
    n = tokens.shape[1]
    self_only = torch.full((n, n), float("-inf")).fill_diagonal_(0.0)
    tokens = visual.transformer.resblocks[-1](tokens, attn_mask=self_only)
    expected = (visual.ln_post(tokens[:, 1:]) @ visual.proj).reshape(1, 4, 4, -1)
    assert dense.shape == (1, 4, 4, 32)
    torch.testing.assert_close(dense, expected, rtol=1e-4, atol=1e-5)


def test_clip_missing_file_and_bad_file_raise_naming_them(tmp_path, clip_file):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(WeightsUnavailableError, match="nope.safetensors"):
        ClipScorer.from_config(CLIP_NAME, str(missing))
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsUnavailableError, match="broken.pt"):
        ClipScorer.from_config(CLIP_NAME, str(bad))


def test_sam_loads_checkpoint_refines_and_caches_embedding(sam_file, image, monkeypatch):
    refiner = SamRefiner.from_checkpoint(sam_file, "tiny", TINY_SAM)
    calls = []
    original = refiner.predictor.set_image
    monkeypatch.setattr(refiner.predictor, "set_image", lambda img: (calls.append(1), original(img)))
    maps = np.zeros((2, 48, 64), np.float32)
    maps[0, 10:30, 20:44] = 1.0
    maps[1, 35:45, 5:15] = 0.8
    refined = refiner.refine(image, maps)
    assert refined.shape == (2, 48, 64) and refined.dtype == np.float32
    assert 0.0 <= refined.min() and refined.max() <= 1.0
    mask = np.zeros((48, 64), np.uint8)
    edited = refiner.click(image, mask, 5, [(30, 20, True)])
    assert len(calls) == 1 and refiner.embed_calls == 1  # the click reused the cached embedding
    assert edited.shape == mask.shape and set(np.unique(edited)) <= {0, 5}
    assert mask.max() == 0  # the input mask is not modified
    other = np.ascontiguousarray(image[::-1])
    refiner.refine(other, maps)
    refiner.click(image, mask, 5, [(30, 20, True)])  # back to the first image: its predictor is cached
    assert refiner.embed_calls == 2 and len(refiner._cache) == 2 and len(calls) == 1


def test_sam_safetensors_checkpoint_and_wrong_type(tmp_path, sam_file):
    from safetensors.torch import save_file

    path = tmp_path / "tiny_sam.safetensors"
    save_file(torch.load(sam_file, weights_only=True), str(path))
    assert isinstance(SamRefiner.from_checkpoint(str(path), "tiny", TINY_SAM), SamRefiner)
    with pytest.raises(WeightsUnavailableError, match="unknown SAM model type 'vit_x'"):
        SamRefiner.from_checkpoint(str(path), "vit_x", TINY_SAM)
    with pytest.raises(WeightsUnavailableError, match="does not match model type vit_b"):
        SamRefiner.from_checkpoint(str(path), "vit_b", {"vit_b": lambda checkpoint=None: torch.nn.Linear(2, 2)})


def test_build_labeler_with_clip_and_sam(clip_file, sam_file, image):
    cfg = LabelingConfig(clip_model=CLIP_NAME, clip_pretrained=clip_file, sam_checkpoint=sam_file,
                         sam_model_type="tiny", unsure_below=0.3)
    labeler = build_labeler(cfg, sam_builders=TINY_SAM)
    assert labeler.sources == {"class_map": f"clip {CLIP_NAME} (file tiny_clip.safetensors)",
                               "refiner": "sam tiny (file tiny_sam.pth)"}
    assert not labeler.needs_fit  # CLIP needs no fitting on the tagged set
    result = labeler.label(image, [(3, ("red square",)), (9, ("sky",))])
    assert result.labels.shape == (48, 64) and result.labels.dtype == np.uint8
    assert set(np.unique(result.labels)) <= {0, 3, 9, 255}
    conf = result.confidence
    assert conf.dtype == np.float32 and 0.0 <= conf.min() and conf.max() <= 1.0
    np.testing.assert_array_equal(result.labels == 255, conf < 0.3)
    assert result.mean_confidence == pytest.approx(float(conf.mean()))
    clicked = labeler.refine_click(image, result.labels, 3, [(30, 20, True), (5, 40, False)])
    assert labeler.refiner.embed_calls == 1 and set(np.unique(clicked)) <= {0, 3, 9, 255}


def test_build_labeler_missing_sam_checkpoint_raises_not_falls_back(tmp_path):
    cfg = LabelingConfig(sam_checkpoint=str(tmp_path / "sam_vit_b.pth"))
    with pytest.raises(WeightsUnavailableError, match="sam_vit_b.pth does not exist"):
        build_labeler(cfg, encoder_factory=lambda: pytest.fail("encoder not needed"), sam_builders=TINY_SAM)


def test_build_labeler_without_sam_uses_superpixels(clip_file):
    labeler = build_labeler(LabelingConfig(clip_model=CLIP_NAME, clip_pretrained=clip_file, superpixels=50))
    assert isinstance(labeler.refiner, SuperpixelRefiner)
    assert labeler.sources["refiner"] == "superpixels: SLIC, about 50 regions per image (no SAM checkpoint configured)"
