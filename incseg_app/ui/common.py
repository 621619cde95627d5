"""Formatting helpers shared by the tabs: safe text, status lines, legends, choices, error guard.

Every piece of user text (class names, tags, file names, error messages that quote them) goes
through ``esc`` before it reaches HTML or Markdown, so a class called ``<script>`` is shown, never run.
"""
from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..domain.enums import JobStatus
from ..domain.errors import IncsegError
from ..domain.records import ClassDef, Job

log = logging.getLogger(__name__)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")


@dataclass
class TabParts:
    """What a tab hands to ``build_app``: its Tab (refreshed when selected) and a refresh function
    of ``inputs`` returning one value per component in ``outputs`` (also run on page load)."""

    tab: gr.Tab
    refresh: Callable[..., tuple[Any, ...]]
    outputs: list[Any]
    inputs: list[Any] = field(default_factory=list)  # what ``refresh`` reads (e.g. the item on screen)


def esc(text: object) -> str:
    """User text made inert for Markdown: tags escaped and Markdown punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def esc_html(text: object) -> str:
    """User text made inert for a ``gr.HTML`` block."""
    return html.escape(str(text), quote=True)


OK_MARK = "✓"  # plain symbols, not emoji: they render with the fonts every browser has
WARN_MARK = "⚠"


def ok(message: str) -> str:
    """A success status line (``message`` must already be escaped)."""
    return f"{OK_MARK} {message}"


def warn(message: str) -> str:
    """A refusal or warning status line (``message`` must already be escaped)."""
    return f"{WARN_MARK} {message}"


def problem(exc: BaseException) -> str:
    """The status line for a domain error: its message, escaped (it may quote user text)."""
    return warn(esc(exc))


def guarded(n_other: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a handler whose first output is a status Markdown: a domain error becomes that
    status and the other ``n_other`` outputs stay as they are (``gr.skip()``)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except IncsegError as exc:
                log.info("%s refused: %s", fn.__name__, exc)
                return problem(exc) if n_other == 0 else (problem(exc), *[gr.skip()] * n_other)
        return wrapper
    return deco


def to_hex(color: str | None) -> str:
    """"#rrggbb" from a colour picker value ("#rrggbb", "#rgb" or "rgb(a)(r, g, b[, a])")."""
    value = (color or "").strip()
    m = _RGB.match(value)
    if m:
        return "#" + "".join(f"{min(255, round(float(v))):02x}" for v in m.groups())
    if re.fullmatch(r"#?[0-9a-fA-F]{3}", value):
        return "#" + "".join(ch * 2 for ch in value.lstrip("#")).lower()
    return value.lower()


def swatch(color: str, name: str) -> str:
    """One legend chip: colour square and escaped name."""
    return (f'<span class="incseg-chip"><span class="incseg-swatch" style="background:{html.escape(color)}">'
            f"</span>{esc_html(name)}</span>")


def legend_html(items: Iterable[tuple[str, str]]) -> str:
    """Legend of (name, "#rrggbb") pairs; empty string when there are none."""
    chips = [swatch(color, name) for name, color in items]
    return f'<div class="incseg-legend">{"".join(chips)}</div>' if chips else ""


def class_legend(classes: Sequence[ClassDef]) -> str:
    return legend_html((c.name, c.color) for c in classes if not c.archived)


def class_choices(classes: Sequence[ClassDef]) -> list[tuple[str, int]]:
    """Dropdown choices (label, class id) for live classes."""
    return [(c.name, c.id) for c in classes if not c.archived]


def split_lines(text: str | None) -> list[str]:
    """Non-empty lines (or ``;``-separated items) of a text box."""
    return [p.strip() for p in re.split(r"[\n;]", text or "") if p.strip()]


def progress_html(job: Job | None) -> str:
    """A progress bar with the job's status and message (escaped); empty without a job."""
    if job is None:
        return ""
    pct = round(100 * job.progress)
    detail = job.error or job.message or ""
    return (f'<div class="incseg-job"><progress max="100" value="{pct}"></progress> '
            f"<b>{pct}%</b> · job {job.id} {esc_html(job.status.value)} · {esc_html(detail)}</div>")


def job_ended(label: str, job: Job, kept: str) -> str:
    """The status line of a job that has ended. ``label`` names what it did ("Pseudo-labelling") and
    ``kept`` what a cancel leaves behind; a failure or interruption quotes its reason (escaped)."""
    if job.status == JobStatus.DONE:
        return ok(f"{label} finished (job {job.id}).")
    if job.status == JobStatus.CANCELLED:
        return warn(f"{label} was cancelled (job {job.id}); {kept}.")
    if job.status == JobStatus.FAILED:
        return warn(f"{label} failed (job {job.id}): {esc(job.error or job.message or 'no reason was recorded')}")
    return warn(f"{label} stopped (job {job.id}): {esc(job.message or job.status.value)}")


def cancelling(job_id: int, kept: str) -> str:
    """The status line of a job asked to stop; ``kept`` says what a cancel leaves behind."""
    return f"Cancelling job {job_id}; {kept}."


def job_status_line(job: Job, status: str | None, own: Collection[str], label: str, kept: str) -> Any:
    """What a job poll writes to the status line: once ``job`` has ended, ``job_ended`` — but only while
    the line still shows one of that job's own lines (``own``: its start and cancel messages). Otherwise
    ``gr.skip()``, so a status another action wrote (accept, save, …) is never overwritten."""
    if not job.status.finished or status not in own:
        return gr.skip()
    return job_ended(label, job, kept)


def gr_progress(progress: Any) -> Callable[[float, str], None]:
    """Adapt a ``gr.Progress`` to the services' ``progress(fraction, message)`` callback."""
    return lambda fraction, message: progress(fraction, desc=message)
