"""CLIP/SAM paths saved with the store: validated, used at once, and by the next process that opens it."""
from __future__ import annotations

import pytest

from incseg_app.domain.errors import ValidationError
from incseg_app.services import StoreSettings, open_store
from incseg_app.services.ml_settings import MLSettings, tiny_settings
from incseg_app.services.weights_settings import WeightPaths, current_weights, set_weights, stored_weights


def test_bad_paths_are_refused_and_nothing_is_saved(tmp_path):
    ctx = open_store(tmp_path / "s", StoreSettings(), ml=tiny_settings())
    with pytest.raises(ValidationError, match="not a file"):
        set_weights(ctx, WeightPaths(sam_checkpoint=str(tmp_path / "missing.pth")))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValidationError, match="not a weights file"):
        set_weights(ctx, WeightPaths(clip_pretrained=str(tmp_path / "notes.txt")))
    with pytest.raises(ValidationError, match="absolute path"):
        set_weights(ctx, WeightPaths(clip_pretrained="weights.pt"))
    with pytest.raises(ValidationError, match="model type"):
        set_weights(ctx, WeightPaths(sam_model_type="vit_x"))
    assert stored_weights(ctx) == {} and current_weights(ctx).sam_checkpoint == ""
    ctx.close()


def test_saved_paths_apply_now_and_to_the_next_process_unless_it_names_its_own(tmp_path):
    sam = tmp_path / "sam_vit_b.pth"
    sam.write_bytes(b"weights")
    ctx = open_store(tmp_path / "s", StoreSettings(), ml=tiny_settings())
    set_weights(ctx, WeightPaths(sam_checkpoint=str(sam), sam_model_type="vit_b"))
    assert ctx.ml.labeling.sam_checkpoint == str(sam)
    ctx.close()
    again = open_store(tmp_path / "s", StoreSettings(), ml=tiny_settings())
    assert again.ml.labeling.sam_checkpoint == str(sam) and again.ml.labeling.clip_pretrained == ""
    again.close()
    other = tmp_path / "other.pth"
    other.write_bytes(b"w")
    own = open_store(tmp_path / "s", StoreSettings(), ml=MLSettings.from_env(sam_checkpoint=str(other)))
    assert own.ml.labeling.sam_checkpoint == str(other)
    own.close()
    sam.unlink()  # a saved file that went missing: the fallback runs
    gone = open_store(tmp_path / "s", StoreSettings(), ml=tiny_settings())
    assert gone.ml.labeling.sam_checkpoint == ""
    gone.close()
