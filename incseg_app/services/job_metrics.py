"""Structured job metrics: the values a job reports per iteration (a training job's losses), stored as
rows with the job so a chart can be drawn again after a reload, from any process.

``MetricsWriter`` runs inside the job (thread or child process): it buffers points and writes them in
one short transaction every ``flush_s`` seconds, so the loop is not slowed by a write per iteration.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np

from ..storage.repositories import JobMetricRepo, MetricPoint
from .context import AppContext

log = logging.getLogger(__name__)

LOSS = "total"  # the metric the loss chart shows: the sum of a method's loss terms


class MetricsWriter:
    """Buffers per-iteration values of one job and writes them in batches."""

    def __init__(self, ctx: AppContext, job_id: int, flush_s: float = 1.0, max_pending: int = 500) -> None:
        self.ctx, self.job_id = ctx, job_id
        self.flush_s, self.max_pending = flush_s, max_pending
        self.seq = 0
        self._pending: list[MetricPoint] = []
        self._last = time.monotonic()

    def add(self, progress: float, values: Mapping[str, float]) -> None:
        """One iteration's named values at ``progress`` (0..1 of the step)."""
        self.seq += 1
        self._pending += [MetricPoint(self.seq, float(progress), str(k), float(v)) for k, v in values.items()
                          if np.isfinite(v)]
        if len(self._pending) >= self.max_pending or time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        points, self._pending = self._pending, []
        with self.ctx.unit_of_work(write=True) as s:
            JobMetricRepo(s).add(self.job_id, points)
        self._last = time.monotonic()


def job_metrics(ctx: AppContext, job_id: int, name: str | None = None) -> list[MetricPoint]:
    """Every stored point of a job, in iteration order (optionally one metric)."""
    with ctx.unit_of_work() as s:
        return JobMetricRepo(s).list(job_id, name)


def loss_curve(ctx: AppContext, job_id: int, max_points: int = 300) -> list[tuple[float, float]]:
    """(progress in %, mean total loss) pairs of a job's loss curve, averaged into at most
    ``max_points`` equal slices of progress."""
    points = job_metrics(ctx, job_id, LOSS)
    if not points:
        return []
    progress = np.array([p.progress for p in points]) * 100
    values = np.array([p.value for p in points])
    if len(points) <= max_points:
        return [(round(float(x), 2), float(y)) for x, y in zip(progress, values)]
    edges = np.linspace(progress.min(), progress.max(), max_points + 1)
    slot = np.clip(np.searchsorted(edges, progress, side="right") - 1, 0, max_points - 1)
    sums, counts = np.bincount(slot, values, max_points), np.bincount(slot, minlength=max_points)
    xs = np.bincount(slot, progress, max_points)
    keep = counts > 0
    return [(round(float(x), 2), float(y)) for x, y in zip(xs[keep] / counts[keep], sums[keep] / counts[keep])]
