"""Classes tab handlers against a temporary store: create, validation errors, change actions, escaping."""
from __future__ import annotations

from incseg_app.services import classes
from incseg_app.ui import classes_tab
from store_helpers import store  # noqa: F401


def test_create_lists_the_class_with_counts_and_free_colour(store):
    status, rows, legend, pick, name_box = classes_tab.create(store, "car", "#000000", "a car\nautomobile")
    assert status.startswith("✅") and "**car**" in status
    assert rows == [[1, "car", classes.get_class(store, 1).color, "a car; automobile", 0, 0, "not trained yet", ""]]
    assert rows[0][2] != "#000000"  # black = "pick a free colour"
    assert pick["choices"] == [("car", 1)] and name_box == ""
    assert "car" in legend


def test_create_with_picker_colour_in_rgba_form(store):
    classes_tab.create(store, "road", "rgba(255, 0, 0, 1)", "")
    assert classes.get_class(store, "road").color == "#ff0000"


def test_duplicate_name_is_refused_and_leaves_the_widgets(store):
    classes_tab.create(store, "car", "#ff0000", "")
    status, *others = classes_tab.create(store, "Car", "#00ff00", "")
    assert status.startswith("⚠️") and "already exists" in status
    assert all(o == {"__type__": "update"} for o in others)  # gr.skip(): nothing else changes
    assert len(classes.list_classes(store)) == 1


def test_rename_recolour_prompts_archive_restore(store):
    classes_tab.create(store, "car", "#ff0000", "")
    classes_tab.change(store, "rename", 1, "vehicle", "", "")
    classes_tab.change(store, "recolour", 1, "", "#00ff00", "")
    classes_tab.change(store, "prompts", 1, "", "", "a photo of a vehicle; truck")
    status, rows, _, pick = classes_tab.change(store, "archive", 1, "", "", "")
    cls = classes.get_class(store, 1)
    assert (cls.name, cls.color, cls.prompts, cls.archived) == ("vehicle", "#00ff00",
                                                               ("a photo of a vehicle", "truck"), True)
    assert rows[0][-1] == "yes" and pick["choices"] == [("vehicle (archived)", 1)]
    classes_tab.change(store, "restore", 1, "", "", "")
    assert not classes.get_class(store, 1).archived


def test_change_without_a_pick_asks_for_one(store):
    status, *_ = classes_tab.change(store, "rename", None, "x", "", "")
    assert "Pick a class" in status


def test_script_class_name_is_shown_escaped(store):
    status, rows, legend, _, _ = classes_tab.create(store, "<img src=x onerror=alert(1)>", "#123456", "")
    assert "<img" not in status and "&lt;img" in status
    assert "<img" not in legend and "&lt;img" in legend
    assert rows[0][1] == "<img src=x onerror=alert(1)>"  # the Dataframe shows cell text, never HTML
