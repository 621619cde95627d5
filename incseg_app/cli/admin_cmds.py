"""Store administration commands: doctor (check/repair), export-store and import-store (backups)."""
from __future__ import annotations

from pathlib import Path

import click

from ..services import backup as backup_svc
from ..services.context import DB_NAME, default_storage_dir
from ..services import doctor as doctor_svc
from .base import cli, storage_option, store


@cli.command()
@storage_option
@click.option("--repair", is_flag=True, help="Delete orphan blobs and temp files, mark stale jobs interrupted and "
                                              "their training versions failed (never deletes referenced data).")
@click.option("--verify-hashes", is_flag=True, help="Re-read every referenced blob and check its sha256 (slow).")
@click.option("--grace", type=float, default=doctor_svc.DEFAULT_GRACE_S, show_default=True,
              help="Leave orphan/temp files younger than this many seconds alone (a write in progress may be "
                   "about to use them).")
def doctor(repair: bool, verify_hashes: bool, grace: float) -> None:
    """Check the store's consistency (exit status 1 when something needs attention)."""
    storage = click.get_current_context().find_root().meta.get("incseg.storage") or default_storage_dir()
    damaged = doctor_svc.database_problems(Path(storage) / DB_NAME) if (Path(storage) / DB_NAME).is_file() else []
    if damaged:  # check the raw file first: a damaged database cannot be migrated or opened
        for line in damaged:
            click.echo(f"database: {line}")
        raise SystemExit(1)
    ctx = store()
    report = (doctor_svc.repair_store(ctx, grace, verify_hashes) if repair
              else doctor_svc.check_store(ctx, verify_hashes, grace))
    for line in report.lines():
        click.echo(line)
    if repair:
        report = doctor_svc.check_store(ctx, verify_hashes, grace)
        for line in report.lines():
            click.echo(f"still: {line}")
    if report.ok:
        click.echo(f"store {ctx.root} is consistent")
        return
    if report.busy:
        click.echo("work is running on this store: run `incseg doctor` again when it has finished", err=True)
    elif not repair:
        click.echo("run `incseg doctor --repair` to fix what can be fixed safely", err=True)
    raise SystemExit(1)


@cli.command("export-store")
@storage_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_store(out: Path) -> None:
    """Back up the whole store (database snapshot + blobs + sha256 manifest) to the zip OUT."""
    info = backup_svc.export_store(store(), out)
    click.echo(f"exported {info.blobs} blob(s), {info.bytes / 2**20:.1f} MiB, to {info.path}")


@cli.command("import-store")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def import_store(archive: Path, target: Path) -> None:
    """Restore ARCHIVE (from export-store) into TARGET, a new or empty folder; every hash is checked first."""
    info = backup_svc.import_store(archive, target)
    click.echo(f"restored {info.blobs} blob(s) into {info.path}; serve it with --storage {info.path}")
