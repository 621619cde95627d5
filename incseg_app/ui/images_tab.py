"""The "Images" tab: upload many images (or zips) with tags for the batch, train/val split, a
filterable gallery, per-image tag/split editing, import of a dataset with masks (VOC-style or COCO
JSON) and export of the accepted masks with their images as a VOC or COCO zip."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import tempfile

import gradio as gr

from ..domain.enums import ReviewStatus, Split
from ..services import AppContext, ui_support
from ..services import classes as class_svc
from ..services import datasets as dataset_svc
from ..services import export as export_svc
from ..services import images as image_svc
from .common import TabParts, esc, gr_progress, guarded, ok

ANY = "any"
STATUS_CHOICES = [ANY, "no mask", *(s.value for s in ReviewStatus)]
SPLIT_CHOICES = [ANY, *(s.value for s in Split)]
DATASET_SPLITS = [("as in the dataset folders", ""), ("all train", "train"), ("all val", "val")]
NEXT = ("**Next:** upload images with the classes they show as tags (every class you tag will get a "
        "pseudo-mask), keep some as **val** to measure the model, then go to **Pseudo-label & review**.")


def tag_names(ctx: AppContext) -> list[str]:
    return [c.name for c in class_svc.list_classes(ctx, include_archived=False)]


def gallery_values(ctx: AppContext, tag: str, split: str, status: str) -> tuple[list[Any], list[int], str]:
    """(gallery items, image ids in gallery order, count line) for the filter values."""
    items = ui_support.gallery_items(ctx, tag=None if tag in (ANY, None) else tag,
                                     split=None if split in (ANY, None) else Split(split),
                                     status=None if status in (ANY, "no mask", None) else ReviewStatus(status),
                                     unlabelled=status == "no mask")
    pictures = [(ui_support.thumbnail(ctx, it.image.id),
                 f"#{it.image.id} {it.image.original_name} · {it.image.split.value} · {it.status} · "
                 f"{', '.join(it.image.tags) or 'no tags'}") for it in items]
    count = f"{len(items)} image(s) shown" + (" (first 60)" if len(items) == 60 else "")
    return pictures, [it.image.id for it in items], count


def refresh(ctx: AppContext) -> tuple[Any, ...]:
    """Tag choices for the upload, filter and per-image boxes, and the unfiltered gallery."""
    names = tag_names(ctx)
    return (gr.update(choices=names), gr.update(choices=[ANY, *names], value=ANY), gr.update(choices=names),
            *gallery_values(ctx, ANY, ANY, ANY))


@guarded(3)
def upload(ctx: AppContext, files: Sequence[str] | None, tags: list[str], split: str,
           progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
    """Import the uploaded files (images and zips) with ``tags`` and ``split``; bad files are listed."""
    if not files:
        return "⚠️ Choose or drop image files (or a zip) first.", gr.skip(), gr.skip(), gr.skip()
    report = image_svc.import_images(ctx, list(files), tags or [], Split(split), skip_invalid=True,
                                     progress=gr_progress(progress))
    lines = [ok(f"Imported {len(report.imported)} image(s) into **{split}** with tags "
                f"{esc(', '.join(tags or [])) or 'none'}; {len(report.duplicates)} already stored (tags merged).")]
    lines += [f"- skipped {esc(name)}: {esc(reason)}" for name, reason in report.skipped]
    lines.append("Next: **Pseudo-label & review** labels them.")
    return "\n".join(lines), *gallery_values(ctx, ANY, ANY, ANY)


def select_image(ctx: AppContext, ids: list[int], evt: gr.SelectData) -> tuple[Any, ...]:
    """Gallery click -> (image id, its tags, its split, info line) for the per-image editor."""
    record = image_svc.get_image(ctx, ids[evt.index])
    return record.id, list(record.tags), record.split.value, f"Editing **{esc(record.original_name)}** (#{record.id})"


@guarded(3)
def save_image(ctx: AppContext, image_id: int | None, tags: list[str], split: str,
               *filters: str) -> tuple[Any, ...]:
    """Replace the picked image's tags and split; the gallery is re-listed with the current filters."""
    if image_id is None:
        return "⚠️ Click an image in the gallery first.", gr.skip(), gr.skip(), gr.skip()
    image_svc.set_tags(ctx, image_id, tags or [])
    record = image_svc.set_split(ctx, image_id, Split(split))
    return (ok(f"#{record.id} now has tags {esc(', '.join(record.tags)) or 'none'} and split "
               f"{record.split.value}."), *gallery_values(ctx, *filters))


@guarded(0)
def import_dataset(ctx: AppContext, folder: str, zip_file: str | None, split: str,
                   progress: gr.Progress = gr.Progress()) -> str:
    """Import a dataset from an uploaded zip, or else from a folder path the UI may read."""
    source = zip_file or folder
    sp = Split(split) if split else None
    if zip_file:
        report = dataset_svc.import_dataset(ctx, source, sp, gr_progress(progress))
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
            files = gr.File(label="Images or zip archives", file_count="multiple",
                            file_types=["image", ".zip"], elem_id="image-files")
            with gr.Column():
                tags = gr.Dropdown(label="Tags for this batch (classes shown)", multiselect=True, choices=[],
                                   elem_id="upload-tags")
                split = gr.Radio([s.value for s in Split], value=Split.TRAIN.value, label="Split",
                                 elem_id="upload-split")
                upload_btn = gr.Button("Import images", variant="primary", elem_id="images-import")
        gr.Markdown("#### Gallery (click an image to edit its tags and split)")
        with gr.Row():
            f_tag = gr.Dropdown(label="Tag", choices=[ANY], value=ANY)
            f_split = gr.Dropdown(label="Split", choices=SPLIT_CHOICES, value=ANY)
            f_status = gr.Dropdown(label="Review status", choices=STATUS_CHOICES, value=ANY)
        count = gr.Markdown()
        gallery = gr.Gallery(label="Images", columns=6, height="auto", format="png", elem_id="image-gallery")
        ids = gr.State([])
        with gr.Row():
            picked = gr.State(None)
            picked_info = gr.Markdown("No image picked.")
            edit_tags = gr.Dropdown(label="Tags", multiselect=True, choices=[])
            edit_split = gr.Radio([s.value for s in Split], label="Split")
            save_btn = gr.Button("Save image", size="sm")
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
    listing = [gallery, ids, count]
    upload_btn.click(partial(upload, ctx), [files, tags, split], [status, *listing])
    for f in filters:
        f.change(partial(gallery_values, ctx), filters, listing)

    def on_select(shown: list[int], evt: gr.SelectData) -> tuple[Any, ...]:  # gradio injects evt by type hint
        return select_image(ctx, shown, evt)

    gallery.select(on_select, [ids], [picked, edit_tags, edit_split, picked_info])
    save_btn.click(partial(save_image, ctx), [picked, edit_tags, edit_split, *filters], [status, *listing])
    ds_btn.click(partial(import_dataset, ctx), [ds_path, ds_zip, ds_split], [status])
    ex_btn.click(partial(export_dataset, ctx), [ex_format], [status, ex_file])
    return TabParts(tab, partial(refresh, ctx), [tags, f_tag, edit_tags, *listing])
