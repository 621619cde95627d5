"""The "Images" tab: upload many images (or zips) with tags for the batch and a train/val split, a paged
gallery filtered by tag, split and review status, tags and split edited for a selection of images at
once, deleting images into a trash (restorable until purged), import of a dataset with masks (VOC-style
or COCO JSON) and export of the accepted masks with their images as a VOC or COCO zip."""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import partial
from typing import Any

import gradio as gr

from ..domain.enums import Split
from ..services import AppContext, gallery, ui_support
from ..services import classes as class_svc
from ..services import datasets as dataset_svc
from ..services import export as export_svc
from ..services import images as image_svc
from . import gallery_view as gv
from .common import TabParts, esc, gr_progress, guarded, ok, warn

DATASET_SPLITS = [("as in the dataset folders", ""), ("all train", "train"), ("all val", "val")]
NEXT = ("**Next:** upload images with the classes they show as tags (every class you tag will get a "
        "pseudo-mask), keep some as **val** to measure the model, then go to **Pseudo-label & review**.")
TRASH_HEADERS = ["trash id", "was image", "file", "deleted at (UTC)"]


def tag_names(ctx: AppContext) -> list[str]:
    return [c.name for c in class_svc.list_classes(ctx, include_archived=False)]


def refresh(ctx: AppContext, *filters: Any) -> tuple[Any, ...]:
    """Tag choices of the upload, filter and bulk boxes, the gallery page and the trash."""
    names = tag_names(ctx)
    return (gr.update(choices=names), gr.update(choices=[gv.ANY, *names]), gr.update(choices=names),
            gr.update(choices=names), *gv.page_values(ctx, *filters), trash_rows(ctx))


def trash_rows(ctx: AppContext) -> list[list[Any]]:
    return [[t, i, n, d.strftime("%Y-%m-%d %H:%M")] for t, i, n, d in gallery.trash_entries(ctx)]


def import_line(report: image_svc.ImportReport, tags: list[str], split: str) -> str:
    """Status of an upload: what was imported and every file that was skipped, and why."""
    n, dup = len(report.imported), len(report.duplicates)
    head = (ok(f"Imported {n} image(s) into **{split}** with tags {esc(', '.join(tags)) or 'none'}"
               f"{f'; {dup} already stored (tags merged)' if dup else ''}.") if n or dup
            else warn(f"Nothing was imported: {len(report.skipped)} file(s) were skipped."))
    lines = [head, *(f"- skipped {esc(name)}: {esc(reason)}" for name, reason in report.skipped)]
    return "\n".join(lines + (["Next: **Pseudo-label & review** labels them."] if n else []))


@guarded(6)
def upload(ctx: AppContext, files: Sequence[str] | None, tags: list[str], split: str, *filters: Any,
           progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
    """Import the uploaded files (images and zips) with ``tags`` and ``split``; the file box and the batch
    tags are cleared afterwards, so the next batch is not tagged by accident."""
    if not files:
        return warn("Choose or drop image files (or a zip) first."), *[gr.skip()] * 6
    report = image_svc.import_images(ctx, list(files), tags or [], Split(split), skip_invalid=True,
                                     progress=gr_progress(progress))
    return import_line(report, tags or [], split), *gv.page_values(ctx, *filters), None, []


def pick(ids: list[int], selected: list[int], evt: gr.SelectData) -> tuple[list[int], str]:
    """A gallery click toggles that image in the selection."""
    chosen = gv.toggle(selected, ids[evt.index])
    return chosen, gv.selection_line(chosen)


def select_page(shown: list[int], selected: list[int]) -> tuple[list[int], str]:
    chosen = sorted(set(selected) | set(shown))
    return chosen, gv.selection_line(chosen)


def ask_delete(selected: list[int]) -> tuple[str, Any]:
    """First step of a delete: the confirmation row (nothing happens without it)."""
    if not selected:
        return warn("Select images first."), gr.update(visible=False)
    return f"Move {len(selected)} image(s) and their masks to the trash?", gr.update(visible=True)


@guarded(5)
def edit_tags(ctx: AppContext, selected: list[int], add: list[str], remove: list[str], *filters: Any) -> tuple[Any, ...]:
    """Add and remove tags on every selected image."""
    changed = gallery.edit_tags(ctx, selected, add or [], remove or [])
    return ok(f"Tags changed on {changed} of {len(selected)} selected image(s)."), *gv.page_values(ctx, *filters)


@guarded(5)
def set_split(ctx: AppContext, selected: list[int], split: str | None, *filters: Any) -> tuple[Any, ...]:
    if not selected or not split:
        return warn("Select images and a split first."), *[gr.skip()] * 5
    for image_id in selected:
        image_svc.set_split(ctx, image_id, Split(split))
    return ok(f"{len(selected)} image(s) moved to **{split}**."), *gv.page_values(ctx, *filters)


@guarded(8)
def delete(ctx: AppContext, selected: list[int], *filters: Any) -> tuple[Any, ...]:
    """Move the selected images to the trash (their masks go with them and can be restored)."""
    trash_ids = gallery.delete_images(ctx, selected)
    return (ok(f"Moved {len(trash_ids)} image(s) to the trash with their masks; restore them below until you "
               "purge the trash."), *gv.page_values(ctx, *filters), [], gv.selection_line([]), trash_rows(ctx))


@guarded(5)
def restore(ctx: AppContext, trash_id: float | None, *filters: Any) -> tuple[Any, ...]:
    if not trash_id:
        return warn("Type the trash id of the image to restore."), *[gr.skip()] * 5
    record = gallery.restore_image(ctx, int(trash_id))
    return ok(f"Restored {esc(record.original_name)} as image #{record.id}."), *gv.page_values(ctx, *filters), \
        trash_rows(ctx)


@guarded(1)
def purge(ctx: AppContext, sure: bool) -> tuple[Any, ...]:
    if not sure:
        return warn("Tick the box to confirm: purged images and their masks cannot be restored."), gr.skip()
    removed = gallery.purge_trash(ctx)
    return ok(f"The trash is empty; {removed} file(s) nothing else used were removed."), trash_rows(ctx)


@guarded(0)
def import_dataset(ctx: AppContext, folder: str, zip_file: str | None, split: str,
                   progress: gr.Progress = gr.Progress()) -> str:
    """Import a dataset from an uploaded zip, or else from a folder path the UI may read."""
    sp = Split(split) if split else None
    if zip_file:
        report = dataset_svc.import_dataset(ctx, zip_file, sp, gr_progress(progress))
    else:
        report = ui_support.import_dataset_folder(ctx, folder, sp, progress=gr_progress(progress))
    created = ", ".join(esc(c.name) for c in report.classes_created) or "none"
    return ok(f"Imported {report.images} new image(s) and {report.masks} ground-truth mask(s); classes created: "
              f"{created}. Ground-truth masks count as accepted: go to **Train**.")


@guarded(1)
def export_dataset(ctx: AppContext, fmt: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
    """Zip the accepted masks and their images in ``fmt`` ("voc" or "coco") for download."""
    work = tempfile.mkdtemp(prefix="incseg-export-")
    path = export_svc.export_archive(ctx, work, fmt or "voc", progress=gr_progress(progress))
    return ok(f"Exported the accepted masks as **{esc(fmt.upper())}**: download the zip below."), str(path)


def build_tab(ctx: AppContext) -> TabParts:
    """Widgets and handlers of the Images tab."""
    with gr.Tab("Images", id="images") as tab:
        gr.Markdown(NEXT)
        status = gr.Markdown(elem_id="images-status")
        with gr.Row():
            files = gr.File(label="Images or zip archives", file_count="multiple", file_types=["image", ".zip"],
                            elem_id="image-files")
            with gr.Column():
                tags = gr.Dropdown(label="Tags for this batch (classes shown)", multiselect=True, choices=[],
                                   elem_id="upload-tags")
                split = gr.Radio([s.value for s in Split], value=Split.TRAIN.value, label="Split", elem_id="upload-split")
                upload_btn = gr.Button("Import images", variant="primary", elem_id="images-import")
        gr.Markdown("#### Gallery (click images to select them for the actions below)")
        with gr.Row():
            f_tag = gr.Dropdown(label="Tag", choices=[gv.ANY], value=gv.ANY, elem_id="gallery-tag")
            f_split = gr.Dropdown(label="Split", choices=gv.SPLIT_CHOICES, value=gv.ANY)
            f_status = gr.Dropdown(label="Review status", choices=gv.STATUS_CHOICES, value=gv.ANY)
        with gr.Row():
            prev_page = gr.Button("← Previous page", size="sm")
            count = gr.Markdown(elem_id="gallery-count")
            next_page = gr.Button("Next page →", size="sm", elem_id="gallery-next")
        gallery_box = gr.Gallery(label="Images", columns=6, height="auto", elem_id="image-gallery",
                                 allow_preview=False)
        ids, page, selected = gr.State([]), gr.State(0), gr.State([])
        picked = gr.Markdown(gv.selection_line([]), elem_id="gallery-selection")
        with gr.Row():
            select_all = gr.Button("Select this page", size="sm")
            clear = gr.Button("Clear selection", size="sm")
        with gr.Row():
            add_tags = gr.Dropdown(label="Add tags", multiselect=True, choices=[], elem_id="bulk-add")
            remove_tags = gr.Dropdown(label="Remove tags", multiselect=True, choices=[], elem_id="bulk-remove")
            tags_btn = gr.Button("Apply tags to the selection", size="sm", elem_id="bulk-tags")
        with gr.Row():
            new_split = gr.Radio([s.value for s in Split], label="Move the selection to")
            split_btn = gr.Button("Set split", size="sm")
            delete_btn = gr.Button("Delete the selection", variant="stop", size="sm", elem_id="bulk-delete")
        with gr.Row(visible=False) as confirm_row:
            confirm_btn = gr.Button("Yes, move them to the trash", variant="stop", elem_id="bulk-delete-confirm")
            keep_btn = gr.Button("No, keep them")
        with gr.Accordion("Trash (deleted images keep their masks until you purge it)", open=False):
            trash = gr.Dataframe(headers=TRASH_HEADERS, interactive=False, elem_id="trash-table")
            with gr.Row():
                trash_id = gr.Number(label="Trash id to restore", precision=0)
                restore_btn = gr.Button("Restore", size="sm")
                purge_ok = gr.Checkbox(label="Yes, purge for good")
                purge_btn = gr.Button("Purge the trash", variant="stop", size="sm")
        with gr.Accordion("Import a dataset with masks (VOC-style or COCO)", open=False):
            gr.Markdown("A folder with `JPEGImages/` + `SegmentationClass/`, or `images/` + `labels/` (+ "
                        "`classes.json`), or `train/` and `val/` of those, or COCO instance / panoptic JSON with "
                        "its images (CVAT, Label Studio, Roboflow exports); upload it as a zip or type its path.")
            ds_zip = gr.File(label="Dataset zip", file_types=[".zip"])
            ds_path = gr.Textbox(label="…or dataset folder path on the server")
            ds_split = gr.Dropdown(label="Split", choices=DATASET_SPLITS, value="")
            ds_btn = gr.Button("Import dataset")
        with gr.Accordion("Export the accepted masks (zip)", open=False):
            ex_format = gr.Radio([("VOC palette PNGs", "voc"), ("COCO JSON (RLE)", "coco")], value="voc",
                                 label="Format", elem_id="export-format")
            ex_btn = gr.Button("Export", elem_id="export-run")
            ex_file = gr.File(label="Dataset zip", interactive=False, elem_id="export-file")
    filters = [f_tag, f_split, f_status]
    listing = [gallery_box, ids, count, page]
    upload_btn.click(partial(upload, ctx), [files, tags, split, *filters, page], [status, *listing, files, tags])
    for f in filters:
        f.input(lambda *v: gv.page_values(ctx, *v, 0), filters, listing)
    for button, delta in ((prev_page, -1), (next_page, 1)):
        button.click(lambda *v, d=delta: gv.page_values(ctx, *v[:3], max(0, v[3] + d)), [*filters, page], listing)
    gallery_box.select(pick, [ids, selected], [selected, picked])
    select_all.click(select_page, [ids, selected], [selected, picked])
    clear.click(lambda: ([], gv.selection_line([])), None, [selected, picked])
    tags_btn.click(partial(edit_tags, ctx), [selected, add_tags, remove_tags, *filters, page], [status, *listing])
    split_btn.click(partial(set_split, ctx), [selected, new_split, *filters, page], [status, *listing])
    delete_btn.click(ask_delete, [selected], [status, confirm_row])
    confirm_btn.click(partial(delete, ctx), [selected, *filters, page],
                      [status, *listing, selected, picked, trash]).then(lambda: gr.update(visible=False), None,
                                                                         [confirm_row])
    keep_btn.click(lambda: ("Nothing was deleted.", gr.update(visible=False)), None, [status, confirm_row])
    restore_btn.click(partial(restore, ctx), [trash_id, *filters, page], [status, *listing, trash])
    purge_btn.click(partial(purge, ctx), [purge_ok], [status, trash])
    ds_btn.click(partial(import_dataset, ctx), [ds_path, ds_zip, ds_split], [status])
    ex_btn.click(partial(export_dataset, ctx), [ex_format], [status, ex_file])
    return TabParts(tab, partial(refresh, ctx), [tags, f_tag, add_tags, remove_tags, *listing, trash],
                    [*filters, page])
