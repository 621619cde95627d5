"""Classes tab handlers against a temporary store: create (the form resets to an empty name and prompts
and a free colour), validation errors, change actions (recolour needs a new colour), escaping."""
from __future__ import annotations

from incseg_app.services import classes
from incseg_app.ui import classes_tab
from store_helpers import store  # noqa: F401


def test_create_lists_the_class_and_resets_the_form_with_a_free_colour(store):
    suggested = classes_tab.refresh(store)[-1]
    status, rows, legend, pick, name_box, prompts_box, colour = classes_tab.create(store, "car", suggested,
                                                                                  "a car\nautomobile")
    assert status.startswith("✓") and "**car**" in status
    assert rows == [[1, "car", suggested, "a car; automobile", 0, 0, "not trained yet", ""]]
    assert pick["choices"] == [("car", 1)] and name_box == "" and prompts_box == ""
    assert colour != suggested and "car" in legend
    status, *_, colour_again = classes_tab.create(store, "road", colour, "")  # the picker as left: no clash
    assert status.startswith("✓") and classes.get_class(store, "road").prompts == ("road",)
    assert colour_again not in {c.color for c in classes.list_classes(store)}


def test_create_with_picker_colour_in_rgba_form(store):
    classes_tab.create(store, "road", "rgba(255, 0, 0, 1)", "")
    assert classes.get_class(store, "road").color == "#ff0000"


def test_duplicate_name_or_colour_is_refused_and_leaves_the_widgets(store):
    classes_tab.create(store, "car", "#ff0000", "")
    status, *others = classes_tab.create(store, "Car", "#00ff00", "")
    assert status.startswith("⚠") and "already exists" in status
    assert all(o == {"__type__": "update"} for o in others)  # gr.skip(): nothing else changes
    status, *_ = classes_tab.create(store, "bus", "#ff0000", "")
    assert "already used" in status and len(classes.list_classes(store)) == 1


def test_picking_fills_the_change_form_and_recolour_needs_a_new_colour(store):
    classes_tab.create(store, "car", "#ff0000", "a car")
    assert classes_tab.pick_class(store, 1) == ("car", "#ff0000", "a car")
    for unchanged in (None, "", "#ff0000"):
        status, *rest = classes_tab.change(store, "recolour", 1, "car", unchanged, "")
        assert "Choose the new colour" in status and classes.get_class(store, 1).color == "#ff0000"
    classes_tab.change(store, "recolour", 1, "car", "#00ff00", "")
    assert classes.get_class(store, 1).color == "#00ff00"


def test_rename_prompts_archive_restore(store):
    classes_tab.create(store, "car", "#ff0000", "")
    classes_tab.change(store, "rename", 1, "vehicle", None, "")
    classes_tab.change(store, "prompts", 1, "", None, "a photo of a vehicle; truck")
    status, rows, _, pick = classes_tab.change(store, "archive", 1, "", None, "")
    cls = classes.get_class(store, 1)
    assert (cls.name, cls.prompts, cls.archived) == ("vehicle", ("a photo of a vehicle", "truck"), True)
    assert rows[0][-1] == "yes" and pick["choices"] == [("vehicle (archived)", 1)]
    classes_tab.change(store, "restore", 1, "", None, "")
    assert not classes.get_class(store, 1).archived
    assert "Pick a class first" in classes_tab.change(store, "rename", None, "x", None, "")[0]


def test_html_in_names_is_escaped_in_status_and_legend(store):
    status, rows, legend, *_ = classes_tab.create(store, "<img src=x onerror=alert(1)>", "#123456", "")
    assert "<img" not in status and "<img" not in legend and "&lt;img" in legend
