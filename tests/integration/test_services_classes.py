"""Class service: create, rename, recolour, prompts, archive, list with counts."""
from __future__ import annotations

import numpy as np
import pytest

from incseg_app.domain.errors import DuplicateError, NotFoundError, ValidationError
from incseg_app.services import classes, images, masks
from incseg_app.storage.repositories import ClassRepo
from store_helpers import image_bytes, snapshot, store  # noqa: F401  (fixture)


def test_create_assigns_stable_ids_distinct_colours_and_default_prompt(store):
    a = classes.create_class(store, "  Car ")
    b = classes.create_class(store, "tree", "#00FF00", ["a tree", " ", "foliage"])
    assert (a.id, a.name, a.prompts) == (1, "Car", ("Car",))
    assert (b.id, b.color, b.prompts) == (2, "#00ff00", ("a tree", "foliage"))
    assert a.color != b.color and a.color.startswith("#") and len(a.color) == 7
    assert a.created_at is not None and a.created_at.tzinfo is not None


@pytest.mark.parametrize("name, match", [("", "empty"), ("   ", "empty"), ("x" * 65, "longer"),
                                         ("background", "reserved"), ("bad\x07name", "control")])
def test_invalid_names_are_refused_and_store_unchanged(store, name, match):
    before = snapshot(store)
    with pytest.raises(ValidationError, match=match):
        classes.create_class(store, name)
    assert snapshot(store) == before


def test_duplicate_name_and_colour_are_refused(store):
    classes.create_class(store, "car", "#112233")
    before = snapshot(store)
    with pytest.raises(DuplicateError, match="'car' already exists"):
        classes.create_class(store, "CAR")
    with pytest.raises(DuplicateError, match="#112233 is already used by class 'car'"):
        classes.create_class(store, "bus", "#112233")
    with pytest.raises(ValidationError, match="#rrggbb"):
        classes.create_class(store, "bus", "red")
    with pytest.raises(ValidationError, match="reserved for background"):
        classes.create_class(store, "bus", "#000000")
    assert snapshot(store) == before


def test_rename_recolour_prompts_archive(store):
    car = classes.create_class(store, "car")
    bus = classes.create_class(store, "bus")
    assert classes.rename_class(store, "car", "automobile").name == "automobile"
    assert classes.rename_class(store, car.id, "Automobile").name == "Automobile"  # case change of itself is fine
    with pytest.raises(DuplicateError):
        classes.rename_class(store, "automobile", "bus")
    assert classes.recolour_class(store, str(bus.id), "#ABCDEF").color == "#abcdef"
    with pytest.raises(DuplicateError):
        classes.recolour_class(store, car.id, "#abcdef")
    assert classes.set_prompts(store, bus.id, ["a bus", "a coach"]).prompts == ("a bus", "a coach")
    assert classes.set_prompts(store, bus.id, []).prompts == ("bus",)
    assert classes.archive_class(store, "bus").archived is True
    assert [c.name for c in classes.list_classes(store, include_archived=False)] == ["Automobile"]
    assert classes.archive_class(store, "bus", archived=False).archived is False
    assert classes.get_class(store, "AUTOMOBILE").id == car.id
    with pytest.raises(NotFoundError, match="no class 'plane'"):
        classes.rename_class(store, "plane", "jet")


def test_ids_are_never_reused_and_capped(store):
    for i in range(3):
        classes.create_class(store, f"c{i}")
    classes.archive_class(store, "c2")
    assert classes.create_class(store, "c3").id == 4
    with store.unit_of_work(write=True) as s:
        ClassRepo(s).add(254, "last", "#010203")
    with pytest.raises(ValidationError, match="already has 254 classes"):
        classes.create_class(store, "one too many")


def test_overview_counts_tagged_images_and_current_masks(store):
    car = classes.create_class(store, "car")
    tree = classes.create_class(store, "tree")
    r = images.import_uploads(store, [("a.png", image_bytes(8, 6, 1)), ("b.png", image_bytes(8, 6, 2))], ["car"])
    a, b = r.imported
    mask = np.zeros((6, 8), np.uint8)
    mask[0, 0] = tree.id
    first = masks.save_mask(store, a.id, mask)
    mask[0, 0] = car.id
    masks.save_mask(store, a.id, mask, expected_parent_id=first.id)  # newest mask: car only
    counts = {s.cls.name: (s.image_count, s.mask_count) for s in classes.class_overview(store)}
    assert counts == {"car": (2, 1), "tree": (0, 0)}
