"""What each kind of background job runs, and the settings a job carries to the process that runs it.

``JOB_FUNCTIONS`` maps a job kind to ``fn(ctx, params, control) -> result``; the thread runner (CLI,
tests) and the child process of the web UI (``incseg jobs run ID``) both look the function up here, so
a job runs the same code wherever it runs. ``params`` are the job row's JSON (e.g. a ``TrainRequest``
as a dict); ``runtime_of`` adds the resolved ML and store settings under ``"runtime"`` so a child
process runs with exactly the settings of the server that started it.

The functions import their use case lazily: this module is imported by the runner, which must not
pull in torch for commands that need no model.
"""
from __future__ import annotations

import dataclasses
from dataclasses import replace
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..domain.config import from_dict, to_dict
from ..domain.enums import JobKind
from ..domain.errors import ValidationError
from .context import AppContext, StoreSettings
from .ml_settings import MLSettings

if TYPE_CHECKING:
    from .runner import JobControl

JobFunction = Callable[[AppContext, "dict[str, Any]", "JobControl"], "dict[str, Any]"]
RUNTIME_KEY = "runtime"
JOB_BUSY_TIMEOUT_MS = 15 * 60 * 1000


def _train(ctx: AppContext, params: dict[str, Any], control: "JobControl") -> dict[str, Any]:
    from .training import TrainRequest, train_step

    fields = {f.name for f in dataclasses.fields(TrainRequest)}
    hints = typing.get_type_hints(TrainRequest)
    values = {k: v for k, v in params.items() if k in fields}
    for key, value in values.items():  # JSON lists back to the request's tuples
        if isinstance(value, list) and "tuple" in str(hints[key]):
            values[key] = tuple(value)
    return {"version_id": train_step(ctx, TrainRequest(**values), control).id}


def _pseudo_label(ctx: AppContext, params: dict[str, Any], control: "JobControl") -> dict[str, Any]:
    from .labeling import pseudo_label, relabel_from_corrections

    if params.get("from_corrections"):
        return relabel_from_corrections(ctx, control)
    return pseudo_label(ctx, control, bool(params.get("redo_rejected", False)))


def _rank_drafts(ctx: AppContext, params: dict[str, Any], control: "JobControl") -> dict[str, Any]:
    from .review_editor import score_drafts

    return score_drafts(ctx, control)


JOB_FUNCTIONS: dict[JobKind, JobFunction] = {
    JobKind.TRAIN: _train,
    JobKind.PSEUDO_LABEL: _pseudo_label,
    JobKind.EVALUATE: _rank_drafts,  # the review queue's "rank drafts against the model"
}


def job_function(kind: JobKind | str) -> JobFunction:
    try:
        return JOB_FUNCTIONS[JobKind(kind)]
    except (KeyError, ValueError):
        raise ValidationError(f"jobs of kind {kind!r} cannot be launched; launchable: "
                              f"{', '.join(k.value for k in JOB_FUNCTIONS)}") from None


def runtime_of(ctx: AppContext) -> dict[str, Any]:
    """The resolved settings a job runs with (stored in its params under ``"runtime"``)."""
    return {"ml": to_dict(ctx.ml), "store": to_dict(ctx.settings)}


def job_context(ctx: AppContext, params: dict[str, Any] | None = None) -> AppContext:
    """The context a job runs with: the same store and database, the settings stored in the job's
    ``params`` (else ``ctx``'s), and a lock wait of ``JOB_BUSY_TIMEOUT_MS`` instead of the interactive
    busy timeout — a job waits out another process's long write (an import) rather than fail on it.
    Its progress writes pass a short ``wait_ms`` of their own. Close it when the job ends."""
    runtime = (params or {}).get(RUNTIME_KEY)
    settings = from_dict(StoreSettings, runtime["store"]) if runtime else ctx.settings
    ml = from_dict(MLSettings, runtime["ml"]) if runtime else ctx.ml
    patient = replace(settings, busy_timeout_ms=max(settings.busy_timeout_ms, JOB_BUSY_TIMEOUT_MS))
    return AppContext(ctx.root, patient, ml, ctx.database_url)
