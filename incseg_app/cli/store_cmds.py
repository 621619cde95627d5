"""Store commands: serve, classes, images, dataset, versions, export."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..domain.enums import ReviewStatus, Split
from ..services import classes as class_svc
from ..services.access import PASSWORD_ON_COMMAND_LINE
from ..services import datasets as dataset_svc
from ..services import export as export_svc
from ..services import images as image_svc
from ..services import versions as version_svc
from .base import (
    SPLITS, STATUSES, IncsegGroup, cli, command, ml_options, print_table, progress_bar, storage_option, store,
)


@cli.command()
@storage_option
@ml_options
@click.option("--host", default=None, help="Interface to bind (default $INCSEG_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default $INCSEG_PORT or 7860).")
@click.option("--auth", default=None, help='"user:pass" login (default $INCSEG_AUTH); other users can read it '
                                           'in ps: prefer --auth-file.')
@click.option("--auth-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File of user:pass lines (default $INCSEG_AUTH_FILE).")
def serve(host: str | None, port: int | None, auth: str | None, auth_file: str | None) -> None:
    """Start the web UI (binds 127.0.0.1 unless told otherwise)."""
    argv = [sys.executable, "-m", "incseg_app.ui"]
    storage = click.get_current_context().find_root().meta.get("incseg.storage")
    argv += ["--storage", str(storage)] if storage else []
    argv += ["--host", host] if host else []
    argv += ["--port", str(port)] if port is not None else []
    argv += ["--auth-file", auth_file] if auth_file else []
    if auth:
        click.echo(f"warning: {PASSWORD_ON_COMMAND_LINE}", err=True)
        os.environ["INCSEG_AUTH"] = auth  # the server gets it through the environment, not its arguments
    database_url = click.get_current_context().find_root().meta.get("incseg.database_url")
    if database_url:
        os.environ["INCSEG_DATABASE_URL"] = database_url  # it may hold a password: not in argv either
    for key, value in click.get_current_context().find_root().meta.get("incseg.ml", {}).items():
        os.environ[f"INCSEG_{key.upper()}"] = value  # --clip-pretrained etc. reach the UI's MLSettings
    # The web UI is its own entry point (the CLI layer does not import it): hand this process over.
    os.execv(sys.executable, argv)


@cli.group(cls=IncsegGroup)
def classes() -> None:
    """Create, list, rename, recolour and archive classes."""


@command(classes, "add")
@click.argument("name")
@click.option("--color", default=None, help="#rrggbb (default: a free distinct colour).")
@click.option("--prompt", "prompts", multiple=True, help="Text prompt for CLIP (repeatable; default: the name).")
def classes_add(name: str, color: str | None, prompts: tuple[str, ...]) -> None:
    """Create a class."""
    c = class_svc.create_class(store(), name, color, prompts)
    click.echo(f"created class {c.id} {c.name!r} {c.color}")


@command(classes, "list")
@click.option("--active", is_flag=True, help="Hide archived classes.")
def classes_list(active: bool) -> None:
    """List classes with image and mask counts."""
    rows = class_svc.class_overview(store(), include_archived=not active)
    print_table(["id", "name", "colour", "images", "masks", "introduced in", "archived"],
                [(r.cls.id, r.cls.name, r.cls.color, r.image_count, r.mask_count, r.cls.introduced_version_id,
                  "yes" if r.cls.archived else "") for r in rows])


@command(classes, "rename")
@click.argument("ref")
@click.argument("new_name")
def classes_rename(ref: str, new_name: str) -> None:
    """Rename class REF (name or id)."""
    c = class_svc.rename_class(store(), ref, new_name)
    click.echo(f"class {c.id} is now {c.name!r}")


@command(classes, "recolour")
@click.argument("ref")
@click.argument("color")
def classes_recolour(ref: str, color: str) -> None:
    """Give class REF (name or id) the colour #rrggbb."""
    c = class_svc.recolour_class(store(), ref, color)
    click.echo(f"class {c.id} {c.name!r} is now {c.color}")


@command(classes, "archive")
@click.argument("ref")
@click.option("--restore", is_flag=True, help="Un-archive instead.")
def classes_archive(ref: str, restore: bool) -> None:
    """Archive class REF: hidden from new work, history kept."""
    c = class_svc.archive_class(store(), ref, archived=not restore)
    click.echo(f"class {c.id} {c.name!r} {'archived' if c.archived else 'restored'}")


@cli.group(cls=IncsegGroup)
def images() -> None:
    """Import and list images."""


@command(images, "import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--tag", "tags", multiple=True, help="Class name to tag every image with (repeatable).")
@click.option("--split", type=SPLITS, default="train", show_default=True)
@click.option("--skip-invalid", is_flag=True, help="Skip bad files (listed) instead of importing nothing.")
def images_import(paths: tuple[Path, ...], tags: tuple[str, ...], split: str, skip_invalid: bool) -> None:
    """Import image files, folders or zip archives."""
    with progress_bar("importing") as bar:
        r = image_svc.import_images(store(), paths, tags, Split(split), skip_invalid, bar)
    for name, reason in r.skipped:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(f"imported {len(r.imported)} image(s); {len(r.duplicates)} already stored; "
               f"{len(r.skipped)} skipped; {len(r.ignored)} non-image file(s) ignored")


@command(images, "list")
@click.option("--tag", default=None, help="Only images tagged with this class.")
@click.option("--split", type=SPLITS, default=None)
@click.option("--status", type=STATUSES, default=None, help="Review status of the newest mask.")
@click.option("--limit", type=int, default=50, show_default=True)
def images_list(tag: str | None, split: str | None, status: str | None, limit: int) -> None:
    """List images with their tags."""
    rows = image_svc.list_images(store(), tag, Split(split) if split else None,
                                 ReviewStatus(status) if status else None, limit=limit)
    print_table(["id", "name", "size", "split", "tags"],
                [(r.id, r.original_name, f"{r.width}x{r.height}", r.split.value, ", ".join(r.tags)) for r in rows])


@cli.group(cls=IncsegGroup)
def dataset() -> None:
    """Import datasets with ground-truth masks."""


@command(dataset, "import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--split", type=SPLITS, default=None, help="Override the split (default: from folder names).")
def dataset_import(source: Path, split: str | None) -> None:
    """Import SOURCE: images/+labels/+classes.json, JPEGImages/+SegmentationClass/, train/ val/, COCO instance
    or panoptic JSON with its images (a folder, the .json file itself), or a zip of any of those."""
    with progress_bar("importing") as bar:
        r = dataset_svc.import_dataset(store(), source, Split(split) if split else None, bar)
    created = ", ".join(c.name for c in r.classes_created) or "none"
    click.echo(f"imported {r.images} new image(s) ({r.duplicates} already stored), {r.masks} mask(s); "
               f"classes created: {created}")


@cli.group(cls=IncsegGroup)
def versions() -> None:
    """List model versions and activate (roll back to) one."""


@command(versions, "list")
def versions_list() -> None:
    """List model versions; * marks the active one."""
    ctx = store()
    active = version_svc.active_version(ctx)
    rows = version_svc.list_versions(ctx)
    if not rows:
        click.echo("no model versions yet: train a first step to create one")
        return
    storage = version_svc.version_storage(ctx)

    def stored(v) -> tuple[str, str]:
        st = storage.get(v.id)
        if st is None:
            return "", ""
        share = f" ({100 * st.added_bytes / st.total_bytes:.0f} %)" if v.parent_id is not None else ""
        return _mb(st.total_bytes), _mb(st.added_bytes) + share

    print_table(["", "id", "name", "parent", "step", "method", "classes", "status", "train s", "size", "added"],
                [("*" if active and v.id == active.id else "", v.id, v.name, v.parent_id, v.step, v.method,
                  len(v.class_ids) - 1, v.status.value,
                  f"{v.train_seconds:.0f}" if v.train_seconds is not None else "", *stored(v)) for v in rows])


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


@command(versions, "activate")
@click.argument("version_id", type=int)
def versions_activate(version_id: int) -> None:
    """Make VERSION_ID the active version (roll back or switch branch)."""
    v = version_svc.activate(store(), version_id)
    click.echo(f"active version is now {v.id} ({v.name})")


@command(versions, "export")
@ml_options
@click.argument("version_id", type=int)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def versions_export(version_id: int, out_dir: Path) -> None:
    """Write VERSION_ID as a self-contained bundle in OUT_DIR: model.onnx (checked against PyTorch),
    model.safetensors, bundle.json (classes, preprocessing, metrics, lineage) and a stand-alone predict.py."""
    from ..services.bundle import export_bundle

    with progress_bar("exporting") as bar:
        r = export_bundle(store(), version_id, out_dir, progress=bar)
    worst = max(c["max_abs_diff"] for c in r.check)
    click.echo(f"version {r.version_id} exported to {r.out_dir}; onnxruntime matches PyTorch within {worst:.2g} "
               f"at {len(r.check)} sizes. Run: python {r.out_dir / 'predict.py'} IMAGES --out MASKS")


@cli.command("export")
@storage_option
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", type=SPLITS, default=None)
@click.option("--status", "statuses", type=STATUSES, multiple=True,
              help="Review statuses to export (repeatable; default: accepted).")
@click.option("--with-images", is_flag=True, help="Also copy the images (JPEGImages/ or images/).")
@click.option("--format", "fmt", type=click.Choice(export_svc.EXPORT_FORMATS), default="voc", show_default=True,
              help="voc: palette PNGs + classes.json; coco: annotations/instances_<split>.json with RLE masks.")
def export_cmd(out_dir: Path, split: str | None, statuses: tuple[str, ...], with_images: bool, fmt: str) -> None:
    """Export masks as VOC palette PNGs (palette = class colours) with a classes.json, or as COCO JSON."""
    from ..services.coco import export_coco

    chosen = tuple(ReviewStatus(s) for s in statuses) or (ReviewStatus.ACCEPTED,)
    writer = export_coco if fmt == "coco" else export_svc.export_masks
    with progress_bar("exporting") as bar:
        r = writer(store(), out_dir, Split(split) if split else None, chosen, with_images, bar)
    click.echo(f"exported {r.masks} mask(s) and {r.images} image(s) to {r.out_dir}")


