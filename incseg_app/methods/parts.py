"""The plug points of the training engine: a method is a bundle of *parts*.

A part may play any of four roles by overriding the matching method (the base class is a no-op
for every role, so a part overrides only what it does):

* **model adapter** – ``on_step_start``: after the engine has grown the model for the new classes and
  before the optimiser is built (initialise new tokens, freeze old ones).
* **label source** – ``relabel``: image + current targets -> new B×H×W targets (255 = ignore),
  e.g. old-model pseudo-labels on background pixels.
* **loss term** – ``losses``: returns named scalar tensors; the loop only sums them and calls
  ``backward()`` on the total (timm's loss-task habit).
* **hook** – ``trainable_modules``, ``transform_batch``, ``before_loss``, ``after_update``,
  ``on_step_end``.

The loop (``training.loop``) calls each role over ``Method.parts`` in order and never asks which
method it runs.

**Options.** Every part has one frozen dataclass of options (``Part.Options``), built and validated by
``domain.config.from_dict`` (unknown keys, wrong types) and the dataclass's ``validate`` (ranges):
``Part.from_dict(opts)`` is the only way the registry builds a part.

**Typed channels.** Parts talk to each other only through typed fields: per iteration through
``StepContext`` (``labels``, ``channel_weights``, ``teacher``), per step through ``StepRun.carry_in`` /
``carry_out`` (``StepCarry``: what one version hands to the next). A part names the ``StepContext``
fields it writes for other parts (``writes``) and those it reads *in the same role* in which another
part writes them (``reads``; roles run in phases, so a field written in an earlier role needs no
declaration). ``Method.build`` refuses a part list in which such a reader comes before a writer
(e.g. a student before its teacher), so the order a method needs is checked when the method is
built, not discovered as a silently missing signal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

import torch
from torch import Tensor, nn

from ..domain.config import from_dict, to_dict
from ..domain.errors import ValidationError

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
class StepCarry:
    """What a step hands to the next one through the version store (typed, one field per kind).

    Attributes:
        memory: FMWISS instance memory as ``.npz`` bytes (``fmwiss.memory.InstanceMemory.to_bytes``), or
            None when the version has none.
    """

    memory: bytes | None = None


@dataclass
class StepRun:
    """Run-level state of one training step, shared by all parts.

    ``carry_in`` is what the parent version handed down (e.g. the FMWISS instance memory); parts write
    what the next step needs into ``carry_out``.
    """

    model: nn.Module
    old_model: nn.Module | None
    step: StepInfo
    method: "MethodConfig"
    train: "TrainConfig"
    device: torch.device
    dataset: Any = None  # the training dataset (indexable, yields dicts), for prototypes/memories
    class_ids: tuple[int, ...] = ()  # stable class id per channel (masks in ``dataset`` use these ids)
    carry_in: StepCarry = field(default_factory=StepCarry)
    carry_out: StepCarry = field(default_factory=StepCarry)
    iteration: int = 0
    total_iterations: int = 0


@dataclass
class TeacherSignal:
    """The FMWISS teacher's output for the student (``StepContext.teacher``).

    Attributes:
        index: W int64, the batch rows (weak images) the teacher ran on.
        probs: W×K×H×W float sigmoid probabilities of the teacher, detached.
    """

    index: Tensor
    probs: Tensor


@dataclass
class StepContext:
    """Per-iteration data passed through the parts (the typed channels between them).

    Attributes:
        labels: B×H×W int64 targets after every label source ran (255 = ignore).
        channel_weights: K float, multiplicative loss weight per channel (1 = neutral); CE weighs a
            pixel by the weight of its target channel, KD weighs each old channel.
        teacher: the FMWISS teacher's probabilities on the weak rows, once its part ran.
    """

    run: StepRun
    batch: Batch
    out: "SegOutput"
    old_out: "SegOutput | None"
    labels: Tensor
    channel_weights: Tensor
    teacher: TeacherSignal | None = None

    @property
    def step(self) -> StepInfo:
        return self.run.step


CHANNELS = ("labels", "channel_weights", "teacher")  # the StepContext fields parts may declare


@dataclass(frozen=True)
class NoOptions:
    """Options of a part that has none."""


class Part:
    """Base class of every method part; every role is a no-op until overridden.

    Class attributes:
        Options: the frozen dataclass of this part's options (``from_dict`` validates it).
        reads / writes: ``StepContext`` fields (``CHANNELS``) this part reads in the role that writes
            them / writes for other parts; ``Method.build`` checks that every writer of a field comes
            before every part that reads it.
    """

    name: str = "part"
    Options: ClassVar[type] = NoOptions
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> "Part":
        """The part built from JSON-like options; ValidationError for unknown keys, types or ranges."""
        return cls(from_dict(cls.Options, dict(data or {})))

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
        """Hook role: after the last iteration (e.g. write memories into ``run.carry_out``)."""

    def summary(self) -> dict[str, Any]:
        """JSON-ready diagnostics of the finished step (factors, pseudo-label rates); {} by default."""
        return {}


@dataclass(frozen=True)
class PartSpec:
    """A part slot of a method: the user-facing name, the part class and this method's default options.

    ``defaults`` are the method's choices (e.g. ``{"unbiased": True}`` for a cross-entropy); options a
    user passes for the part are applied on top of them.
    """

    name: str
    cls: type[Part]
    defaults: Mapping[str, Any] = field(default_factory=dict)


def check_channel_order(parts: list[Part]) -> None:
    """ValidationError when a part reads a ``StepContext`` field that a later part writes."""
    for i, part in enumerate(parts):
        for channel in part.reads:
            late = [p.name for p in parts[i + 1:] if channel in p.writes]
            if late:
                raise ValidationError(
                    f"part {part.name!r} reads {channel!r}, which {', '.join(map(repr, late))} writes later; "
                    f"list {late[0]!r} before {part.name!r}")


@dataclass(frozen=True)
class Method:
    """A registered method: a name, the paper it implements and its parts in call order.

    Users switch a part off with ``{"<part>": {"enabled": false}}`` and override its options with
    ``{"<part>": {<option>: value}}`` (``MethodConfig.parts``). ``joint`` marks the upper bound that
    trains all classes in one step with full labels. Methods combine by joining their part lists
    (``a + b``; a part name present in both keeps the first method's slot).
    """

    name: str
    paper: str
    parts: tuple[PartSpec, ...]
    joint: bool = False

    def __add__(self, other: "Method") -> "Method":
        seen = set(self.part_names)
        extra = tuple(s for s in other.parts if s.name not in seen)
        return Method(f"{self.name}+{other.name}", f"{self.paper}; {other.paper}", self.parts + extra,
                      self.joint or other.joint)

    @property
    def part_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.parts)

    def resolved_options(self, config: "MethodConfig") -> dict[str, dict[str, Any]]:
        """Every enabled part's full options (method defaults + user overrides) as JSON-ready dicts."""
        return {p.name: to_dict(p.options) for p in self.build(config)}

    def build(self, config: "MethodConfig") -> list[Part]:
        """Instantiate the enabled parts with their options and check the channel order."""
        unknown = sorted(set(config.parts) - set(self.part_names))
        if unknown:
            raise ValidationError(
                f"method {self.name!r} has no part(s) {', '.join(unknown)}; parts: {', '.join(self.part_names)}")
        built = []
        for spec in self.parts:
            opts = {**spec.defaults, **config.part(spec.name)}
            enabled = opts.pop("enabled", True)
            if not isinstance(enabled, bool):
                raise ValidationError(f"part {spec.name!r}: enabled must be true or false, got {enabled!r}")
            if not enabled:
                continue
            try:
                part = spec.cls.from_dict(opts)
            except ValidationError as err:
                raise ValidationError(f"part {spec.name!r}: {err}") from None
            part.name = spec.name
            built.append(part)
        check_channel_order(built)
        return built
