"""Small use cases the web UI needs beyond the CLI's: a free colour to suggest for a new class, the
job a tab should show after a reload, and dataset import from an allowed folder.

The UI may only read files inside the store, its upload temp dir, and the folders listed in
``$INCSEG_IMPORT_DIRS`` (``os.pathsep``-separated; default: none, so folder imports from the browser
are off until the operator names the folders), so a browser user cannot make the server import
``/etc`` or another user's home. Zip uploads always work.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ..domain.enums import JobKind, Split
from ..domain.errors import BadFileError
from ..domain.records import Job
from ..storage.repositories import ClassRepo
from . import datasets, jobs
from .classes import next_free_color
from .context import AppContext


def suggest_class_color(ctx: AppContext) -> str:
    """A "#rrggbb" no class uses yet (what a new class gets when no colour is given)."""
    with ctx.unit_of_work() as s:
        repo = ClassRepo(s)
        return next_free_color(repo, repo.next_id())


def latest_job(ctx: AppContext, kind: JobKind) -> Job | None:
    """The running/queued job of ``kind`` if any, else the newest one (None when there was none)."""
    active = jobs.list_jobs(ctx, kind, active_only=True, limit=1)
    if active:
        return active[0]
    recent = jobs.list_jobs(ctx, kind, limit=1)
    return recent[0] if recent else None


def import_roots() -> list[Path]:
    """Folders the UI may import datasets from (``$INCSEG_IMPORT_DIRS``; none by default)."""
    raw = os.environ.get("INCSEG_IMPORT_DIRS") or ""
    parts = [p for p in raw.split(os.pathsep) if p.strip()]
    return [Path(p).expanduser().resolve() for p in parts]


def import_dataset_folder(ctx: AppContext, folder: str, split: Split | None = None,
                          roots: Sequence[Path] | None = None,
                          progress: Callable[[float, str], None] | None = None) -> datasets.DatasetReport:
    """Import a dataset folder or zip typed into the UI; BadFileError unless it lies in an allowed root."""
    if not folder or not folder.strip():
        raise BadFileError("(no path)", "type the path of a dataset folder or zip")
    path = Path(folder.strip()).expanduser().resolve()
    allowed = list(roots) if roots is not None else import_roots()
    if not any(path.is_relative_to(root) for root in allowed):
        where = ", ".join(map(str, allowed)) or "none are allowed"
        raise BadFileError(folder, f"is outside the folders the web UI may read ({where}); the operator can "
                                   "allow folders with INCSEG_IMPORT_DIRS, or upload the dataset as a zip")
    return datasets.import_dataset(ctx, path, split, progress)
