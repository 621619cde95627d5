"""Class names and dataset configs (issue 15 #7): invisible and look-alike names, digit-only names,
two Unicode forms of one name, and ``classes.json`` whose ``ignore_index`` cannot be a label value."""
from __future__ import annotations

import json
import sqlite3
import unicodedata

import numpy as np
import pytest
from click.testing import CliRunner

from incseg_app.cli import cli
from incseg_app.domain.errors import BadFileError, DuplicateError, ValidationError
from incseg_app.domain.names import name_key, normalize_name
from incseg_app.services import StoreSettings, classes, datasets, images, open_store
from store_helpers import image_bytes, label_png, snapshot, store, write  # noqa: F401

HIDDEN = {
    "zero-width space alone": ("\u200b", "U\\+200B"),
    "zero-width space inside": ("car\u200b", "U\\+200B \\(ZERO WIDTH SPACE\\)"),
    "zero-width joiner": ("c\u200dar", "U\\+200D"),
    "byte-order mark": ("\ufeffcar", "U\\+FEFF"),
    "right-to-left override": ("\u202ecar", "U\\+202E \\(RIGHT-TO-LEFT OVERRIDE\\)"),
    "left-to-right isolate": ("car\u2066x\u2069", "U\\+2066"),
    "soft hyphen": ("ca\u00adr", "U\\+00AD"),
    "private use": ("car\ue000", "U\\+E000"),
    "Cyrillic look-alike": ("\u0441\u0430r", "mixes Cyrillic and Latin letters"),
    "Greek look-alike": ("\u03bfak", "mixes Greek and Latin letters"),
    "digits only": ("42", "made only of digits"),
    "full-width digits only": ("\uff14\uff12", "made only of digits"),
    "spaced digits": ("4 2", "made only of digits"),
    "control": ("bad\x07name", "control characters"),
}


@pytest.mark.parametrize("case", sorted(HIDDEN))
def test_names_a_reader_cannot_see_or_tell_apart_are_refused(store, case):
    name, message = HIDDEN[case]
    before = snapshot(store)
    with pytest.raises(ValidationError, match=message):
        classes.create_class(store, name)
    car = classes.create_class(store, "car") if case == "digits only" else None
    if car is not None:  # renames follow the same rules
        with pytest.raises(ValidationError, match=message):
            classes.rename_class(store, car.id, name)
    else:
        assert snapshot(store) == before


def test_one_name_in_two_unicode_forms_is_one_class(store):
    """Issue 15 #7: ``café`` precomposed (NFC) and decomposed (NFD) were two classes."""
    nfc, nfd = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    assert nfc != nfd
    made = classes.create_class(store, nfd)
    assert made.name == nfc  # stored in NFKC
    for other in (nfc, "CAFÉ", "café", "\uff23\uff41\uff46\uff45\u0301"):  # the last: full-width letters
        with pytest.raises(DuplicateError, match="already exists"):
            classes.create_class(store, other)
        assert classes.get_class(store, other).id == made.id
    assert name_key("Ǆ") == name_key("ǆ") == name_key("DŽ")  # compatibility + case folding together
    assert normalize_name("  a \u3000 b ") == "a b"  # ideographic space is white space too


def test_names_of_other_scripts_and_mixed_non_confusable_scripts_are_fine(store):
    for name in ("машина", "αυτοκίνητο", "自動車", "くるま と 車", "T恤", "road-2", "Ñandú", "São Paulo bus"):
        assert classes.create_class(store, name).name == name


def test_a_digit_string_means_a_class_id_in_every_command(store, tmp_path):
    """Issue 15 #7: digit-only names were read as ids by some commands and as names by others."""
    car = classes.create_class(store, "car")
    bus = classes.create_class(store, "bus")
    rec = images.import_uploads(store, [("a.png", image_bytes(8, 6, 0))], tags=[str(bus.id)]).imported[0]
    assert rec.tags == ("bus",)
    assert [i.id for i in images.list_images(store, tag=str(bus.id))] == [rec.id]
    assert images.set_tags(store, rec.id, [str(car.id), "bus"]).tags == ("car", "bus")
    run = CliRunner().invoke
    listed = run(cli, ["images", "list", "--tag", str(car.id), "--storage", str(store.root)])
    assert listed.exit_code == 0 and "a.png" in listed.output
    renamed = run(cli, ["classes", "rename", str(car.id), "automobile", "--storage", str(store.root)])
    assert renamed.exit_code == 0 and f"class {car.id} is now 'automobile'" in renamed.output


def _before_this_migration() -> str:
    from incseg_app.storage.migrations.versions import i15_leases  # noqa: PLC0415
    return i15_leases.down_revision


def test_old_keys_are_renormalised_by_the_migration(tmp_path):
    """A store made before issue 15 keyed names by plain case-folding: the migration re-keys them,
    and two old names that now collide keep working (the later is reached by id)."""
    ctx = open_store(tmp_path / "s", StoreSettings())
    ctx.close()
    con = sqlite3.connect(tmp_path / "s" / "incseg.db")
    rows = [(1, unicodedata.normalize("NFD", "Café")), (2, "café"), (3, "\uff23AR")]
    con.executemany("INSERT INTO classes (id, name, name_key, color, prompts, archived, created_at) "
                    "VALUES (?, ?, ?, ?, '[]', 0, '2026-01-01 00:00:00')",
                    [(i, n, n.casefold(), f"#00000{i}") for i, n in rows])
    con.execute("UPDATE alembic_version SET version_num = ?", (_before_this_migration(),))
    con.execute("DROP TABLE leases")
    con.commit()
    con.close()
    ctx = open_store(tmp_path / "s", StoreSettings())
    try:
        keys = dict(sqlite3.connect(ctx.db.path).execute("SELECT id, name_key FROM classes").fetchall())
        assert keys == {1: name_key("café"), 2: f"{name_key('café')}#2", 3: "car"}
        assert classes.get_class(ctx, "CAFÉ").id == 1 and classes.get_class(ctx, "car").id == 3
        assert classes.get_class(ctx, 2).name == "café"
    finally:
        ctx.close()


@pytest.mark.parametrize("spec, message", [
    ({"ignore_index": 300}, "ignore_index must be a label value 0..255, got 300"),
    ({"ignore_index": -1}, "ignore_index must be a label value 0..255, got -1"),
    ({"ignore_index": "255"}, "ignore_index must be a label value 0..255, got '255'"),
    ({"ignore_index": True}, "ignore_index must be a label value 0..255, got True"),
    ({"ignore_index": 0}, "ignore_index must be a label value other than background_index"),
    ({"background_index": 7}, "background_index 7 is not one of the 3 listed classes"),
    ({"classes": ["background", "car", "4"]}, "made only of digits"),
    ({"classes": ["background", "car", "c\u200bar"]}, "U\\+200B"),
    ({"classes": "car"}, "not a valid classes.json"),
])
def test_bad_classes_json_is_refused_before_anything_is_stored(store, tmp_path, spec, message):
    """Issue 15 #7: ``ignore_index: 300`` crashed with an IndexError and -1 was accepted silently."""
    root = tmp_path / "ds"
    write(root / "images" / "a.png", image_bytes(8, 6, 0))
    write(root / "labels" / "a.png", label_png(np.ones((6, 8), np.uint8)))
    write(root / "classes.json", json.dumps({"classes": ["background", "car", "bus"], "background_index": 0,
                                             **spec}).encode())
    before = snapshot(store)
    with pytest.raises((BadFileError, ValidationError), match=message):
        datasets.import_dataset(store, root)
    assert snapshot(store) == before
