"""The "Classes" tab: create, rename, recolour, re-prompt and archive classes; a table with image and
mask counts per class and the model version that introduced it. After a create the form is empty again
and its colour picker holds a colour no class uses, so the next class never inherits the last one's."""
from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from ..services import AppContext, ui_support
from ..services import classes as class_svc
from .common import TabParts, class_legend, esc, guarded, ok, split_lines, to_hex, warn

HEADERS = ["id", "name", "colour", "text prompts", "images tagged", "masks with it", "introduced in version",
           "archived"]
NEXT = ("**Next:** create one class per thing you want segmented (the colour is its colour in the editor; "
        "prompts are what CLIP looks for), then go to **Images** and upload images tagged with them.")


def class_rows(ctx: AppContext) -> list[list[Any]]:
    """One table row per class, archived ones included (their masks and history stay)."""
    return [[s.cls.id, s.cls.name, s.cls.color, "; ".join(s.cls.prompts), s.image_count, s.mask_count,
             s.cls.introduced_version_id or "not trained yet", "yes" if s.cls.archived else ""]
            for s in class_svc.class_overview(ctx)]


def table_values(ctx: AppContext) -> tuple[list[list[Any]], str, Any]:
    """(table rows, legend HTML, class dropdown update) after any change."""
    classes = class_svc.list_classes(ctx)
    choices = [(f"{c.name}{' (archived)' if c.archived else ''}", c.id) for c in classes]
    return class_rows(ctx), class_legend(classes), gr.update(choices=choices)


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    return (*table_values(ctx), ui_support.suggest_class_color(ctx))


@guarded(6)
def create(ctx: AppContext, n: str, c: str, p: str) -> tuple[Any, ...]:
    """Create a class; the name and prompt boxes are cleared and the picker gets the next free colour."""
    cls = class_svc.create_class(ctx, n, to_hex(c) or None, split_lines(p))
    return (ok(f"Created class **{esc(cls.name)}** (id {cls.id}, colour {cls.color}). Add more, or go to "
               "**Images**."), *table_values(ctx), "", "", ui_support.suggest_class_color(ctx))


def pick_class(ctx: AppContext, class_id: int | None) -> tuple[Any, ...]:
    """The change form filled with the picked class's name, colour and prompts."""
    if class_id is None:
        return "", None, ""
    cls = class_svc.get_class(ctx, int(class_id))
    return cls.name, cls.color, "\n".join(cls.prompts)


@guarded(3)
def change(ctx: AppContext, action: str, class_id: int | None, n: str, c: str | None, p: str) -> tuple[Any, ...]:
    """``action`` (rename / recolour / prompts / archive / restore) applied to the picked class."""
    if class_id is None:
        return warn("Pick a class first."), gr.skip(), gr.skip(), gr.skip()
    if action == "recolour" and (not c or to_hex(c) == class_svc.get_class(ctx, class_id).color):
        return warn("Choose the new colour in the picker first."), gr.skip(), gr.skip(), gr.skip()
    cls = {
        "rename": lambda: class_svc.rename_class(ctx, class_id, n),
        "recolour": lambda: class_svc.recolour_class(ctx, class_id, to_hex(c)),
        "prompts": lambda: class_svc.set_prompts(ctx, class_id, split_lines(p)),
        "archive": lambda: class_svc.archive_class(ctx, class_id, True),
        "restore": lambda: class_svc.archive_class(ctx, class_id, False),
    }[action]()
    return (ok(f"Class {cls.id} is now **{esc(cls.name)}** ({cls.color}"
               f"{', archived' if cls.archived else ''}).")), *table_values(ctx)


def build_tab(ctx: AppContext) -> TabParts:
    """Widgets and handlers of the Classes tab."""
    with gr.Tab("Classes", id="classes") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="classes-status")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### New class")
                name = gr.Textbox(label="Name", placeholder="e.g. car", elem_id="class-name")
                color = gr.ColorPicker(label="Colour (a colour no class uses is suggested)", elem_id="class-color")
                prompts = gr.Textbox(label="Text prompts (one per line; empty = the name)", lines=2,
                                     elem_id="class-prompts")
                create_btn = gr.Button("Create class", variant="primary", elem_id="class-create")
            with gr.Column():
                gr.Markdown("#### Change a class")
                pick = gr.Dropdown(label="Class", choices=[], elem_id="class-pick")
                new_name = gr.Textbox(label="Name", elem_id="class-new-name")
                new_color = gr.ColorPicker(label="Colour", value=None, elem_id="class-new-color")
                new_prompts = gr.Textbox(label="Text prompts (one per line)", lines=2)
                with gr.Row():
                    rename = gr.Button("Rename", size="sm")
                    recolour = gr.Button("Recolour", size="sm", elem_id="class-recolour")
                    reprompt = gr.Button("Set prompts", size="sm")
                    archive = gr.Button("Archive", size="sm")
                    restore = gr.Button("Restore", size="sm")
        legend = gr.HTML()
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="class-table")
    view = [table, legend, pick]

    create_btn.click(partial(create, ctx), [name, color, prompts], [status, *view, name, prompts, color])
    pick.input(partial(pick_class, ctx), [pick], [new_name, new_color, new_prompts])
    for button, action in ((rename, "rename"), (recolour, "recolour"), (reprompt, "prompts"),
                           (archive, "archive"), (restore, "restore")):
        button.click(partial(change, ctx, action), [pick, new_name, new_color, new_prompts], [status, *view])
    return TabParts(tab, partial(refresh, ctx), [*view, color])
