"""The plug points of the training engine: a method is a bundle of *parts*.

A part may play any of four roles by overriding the matching method (the base class is a no-op
for every role, so a part overrides only what it does):

* **model adapter** – ``on_step_start``: after the engine has grown the model for the new classes and
  before the optimiser is built (initialise new tokens, freeze old ones, build prototypes).
* **label source** – ``relabel``: image + current targets -> new B×H×W targets (255 = ignore),
  e.g. old-model pseudo-labels on background pixels.
* **loss term** – ``losses``: returns named scalar tensors; the loop only sums them and calls
  ``backward()`` on the total (timm's loss-task habit).
* **hook** – ``trainable_modules``, ``transform_batch``, ``before_loss``, ``after_update``,
  ``on_step_end``.

The loop (``training.loop``) calls each role over ``Method.parts`` in order and never asks which
method it runs. Parts share per-iteration data through ``StepContext`` (notably
``channel_weights``, a K-vector that every CE/KD term multiplies in, so that e.g. GSC's step-aware
compensation can re-weight old-class terms owned by other parts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ..domain.config import MethodConfig, TrainConfig
    from ..models.outputs import SegOutput


@dataclass(frozen=True)
class StepInfo:
    """Which channels a training step touches.

    Attributes:
        step: 0 for the base step, then 1, 2, ...
        old_channels: channels learned before this step (background 0 included when step > 0).
        new_channels: channels learned in this step (background 0 included when step == 0).
        channel_steps: K-tuple, the step at which each channel was introduced (background: 0).
    """

    step: int
    old_channels: tuple[int, ...]
    new_channels: tuple[int, ...]
    channel_steps: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.channel_steps)


@dataclass
class Batch:
    """One training batch after augmentation.

    Attributes:
        images: B×3×H×W float RGB in [0, 1] (the model's encoder normalises), or None when the batch
            carries cached backbone ``taps`` instead (a frozen backbone's features, ``training.taps``).
        labels: B×H×W int64 channel targets for this step (255 = ignore); background shift already
            applied (pixels of classes outside this step's targets are 0).
        weak: B bool, True where the labels came from pseudo-masks (image-level tags only).
        confidence: B×H×W float in [0, 1] for pseudo-masks (1 for ground truth / corrected).
        tags: B×K float {0,1}, image-level tags in channel space (background channel always 1).
        image_ids: B store ids (or dataset indices in benchmarks).
        taps: per backbone tap stride s_i, B×C_i×(H/s_i)×(W/s_i) features of the same crops (empty
            when ``images`` is set); the models run ``forward_taps(taps, (H, W))`` on them.
    """

    images: Tensor | None
    labels: Tensor
    weak: Tensor
    confidence: Tensor
    tags: Tensor
    image_ids: Tensor
    taps: tuple[Tensor, ...] = ()

    def to(self, device: torch.device) -> "Batch":
        return self._map(lambda t: t.to(device, non_blocking=True))

    def pin_memory(self) -> "Batch":
        """Page-locked copies (``DataLoader(pin_memory=True)`` calls this) for asynchronous GPU copies."""
        return self._map(lambda t: t.pin_memory())

    def _map(self, fn: Callable[[Tensor], Tensor]) -> "Batch":
        return Batch(None if self.images is None else fn(self.images),
                     *(fn(t) for t in (self.labels, self.weak, self.confidence, self.tags, self.image_ids)),
                     taps=tuple(fn(t) for t in self.taps))


@dataclass
class StepRun:
    """Run-level state of one training step, shared by all parts.

    ``inputs`` carries data the caller hands to parts (e.g. the FMWISS instance memory loaded from the
    blob store); parts write what the caller must persist into ``outputs``.
    """

    model: nn.Module
    old_model: nn.Module | None
    step: StepInfo
    method: "MethodConfig"
    train: "TrainConfig"
    device: torch.device
    dataset: Any = None  # the training dataset (indexable, yields dicts), for prototypes/memories
    class_ids: tuple[int, ...] = ()  # stable class id per channel (masks in ``dataset`` use these ids)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    iteration: int = 0
    total_iterations: int = 0


@dataclass
class StepContext:
    """Per-iteration data passed through the parts.

    Attributes:
        labels: B×H×W int64 targets after every label source ran (255 = ignore).
        channel_weights: K float, multiplicative loss weight per channel (1 = neutral); CE weighs a
            pixel by the weight of its target channel, KD weighs each old channel.
        scratch: free-form per-iteration values parts share (e.g. prototypes), keyed by part name.
    """

    run: StepRun
    batch: Batch
    out: "SegOutput"
    old_out: "SegOutput | None"
    labels: Tensor
    channel_weights: Tensor
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> StepInfo:
        return self.run.step


class Part:
    """Base class of every method part; every role is a no-op until overridden."""

    name: str = "part"

    def trainable_modules(self) -> list[nn.Module]:
        """Extra modules trained with the model in this step and dropped at inference."""
        return []

    def on_step_start(self, run: StepRun) -> None:
        """Model adapter role: the model is already grown; old model is frozen in eval mode."""

    def transform_batch(self, batch: Batch, run: StepRun) -> Batch:
        """Hook role: augment a batch (e.g. memory copy-paste) before the forward pass.

        A part that overrides this works on pixels: the engine then trains the step on images, never
        on cached backbone taps (``training.step``)."""
        return batch

    def relabel(self, ctx: StepContext) -> Tensor | None:
        """Label-source role: return new B×H×W targets, or None to leave ``ctx.labels`` alone."""
        return None

    def before_loss(self, ctx: StepContext) -> None:
        """Hook role: adjust ``ctx`` (e.g. ``channel_weights``) after labels, before losses."""

    def losses(self, ctx: StepContext) -> dict[str, Tensor]:
        """Loss-term role: named scalar losses (already weighted) to add to the total."""
        return {}

    def after_update(self, ctx: StepContext) -> None:
        """Hook role: after ``optimizer.step()`` (EMA statistics and the like)."""

    def on_step_end(self, run: StepRun) -> None:
        """Hook role: after the last iteration (e.g. write memories into ``run.outputs``)."""


PartFactory = Callable[[dict[str, Any]], Part]


@dataclass(frozen=True)
class Method:
    """A registered method: a name, the paper it implements and its parts in call order.

    ``parts`` pairs a part name (the key users switch off in ``MethodConfig.parts``) with a factory
    that receives that part's option slice. ``joint`` marks the upper bound that trains all classes
    in one step with full labels. Methods combine by joining their part lists (``a + b``).
    """

    name: str
    paper: str
    parts: tuple[tuple[str, PartFactory], ...]
    joint: bool = False

    def __add__(self, other: "Method") -> "Method":
        seen = {n for n, _ in self.parts}
        extra = tuple((n, f) for n, f in other.parts if n not in seen)
        return Method(f"{self.name}+{other.name}", f"{self.paper}; {other.paper}", self.parts + extra,
                      self.joint or other.joint)

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.parts)

    def build(self, config: "MethodConfig") -> list[Part]:
        """Instantiate the enabled parts with their option slices (``enabled: false`` = ablated)."""
        unknown = sorted(set(config.parts) - set(self.part_names))
        if unknown:
            from ..domain.errors import ValidationError
            raise ValidationError(
                f"method {self.name!r} has no part(s) {', '.join(unknown)}; parts: {', '.join(self.part_names)}")
        built = []
        for name, factory in self.parts:
            opts = config.part(name)
            if not opts.pop("enabled", True):
                continue
            part = factory(opts)
            part.name = name
            built.append(part)
        return built
