"""Shared pieces of the ``incseg`` command line: the root group, ``--storage`` and the ML options,
the store of this invocation, progress bars and tables."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..domain.enums import ReviewStatus, Split
from ..domain.errors import IncsegError
from ..services import AppContext, open_store
from ..services.ml_settings import MLSettings

SPLITS = click.Choice([s.value for s in Split])
STATUSES = click.Choice([s.value for s in ReviewStatus])


class IncsegGroup(click.Group):
    """Turns domain errors into one clean line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IncsegError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _remember_storage(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.find_root().meta["incseg.storage"] = value


def _remember_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_root().meta["incseg.database_url"] = value


def storage_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--storage DIR`` and ``--database-url URL``, accepted before or after the command name."""
    fn = click.option("--database-url", default=None, expose_value=False, callback=_remember_database,
                      is_eager=True, help="Database of the store (default: $INCSEG_DATABASE_URL, else the SQLite "
                                          "file incseg.db in the store folder), e.g. "
                                          "postgresql://user@host/dbname; blobs stay in the store folder.")(fn)
    return click.option("--storage", type=click.Path(file_okay=False, path_type=Path), expose_value=False,
                        callback=_remember_storage, is_eager=True,
                        help="Store folder (default: $INCSEG_STORAGE or ./storage).")(fn)


ML_OPTIONS = (  # option, settings key, help
    ("--encoder", "encoder", "Encoder of new base versions: efficientnet_lite0 (default), openclip_vit, tiny "
                             "($INCSEG_ENCODER)."),
    ("--clip-model", "clip_model", "open_clip architecture name, e.g. ViT-B-16 ($INCSEG_CLIP_MODEL)."),
    ("--clip-pretrained", "clip_pretrained", "open_clip pretrained tag or a local weights file; empty = the "
                                             "co-segmentation fallback ($INCSEG_CLIP_PRETRAINED)."),
    ("--sam-checkpoint", "sam_checkpoint", "Segment Anything checkpoint file; empty = the superpixel fallback "
                                           "($INCSEG_SAM_CHECKPOINT)."),
    ("--sam-model-type", "sam_model_type", "SAM model type: vit_b, vit_l or vit_h ($INCSEG_SAM_MODEL_TYPE)."),
    ("--device", "device", "auto (CUDA when present), cpu, cuda or cuda:N ($INCSEG_DEVICE)."),
)


def ml_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the weight-location and device options; values land in the invocation's ``MLSettings``."""
    def allow(ctx: click.Context, _p: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_root().meta.setdefault("incseg.ml", {})["allow_download"] = "1"
    fn = click.option("--allow-download", is_flag=True, default=False, expose_value=False, callback=allow,
                      is_eager=True, help="Let open_clip download the weights of a --clip-pretrained tag "
                                          "($INCSEG_ALLOW_DOWNLOAD=1); without it a tag is refused.")(fn)
    for flag, key, text in reversed(ML_OPTIONS):
        def remember(ctx: click.Context, _p: click.Parameter, value: str | None, key: str = key) -> None:
            if value:
                ctx.find_root().meta.setdefault("incseg.ml", {})[key] = value
        fn = click.option(flag, default=None, expose_value=False, callback=remember, is_eager=True, help=text)(fn)
    return fn


def store() -> AppContext:
    """The AppContext of this invocation (opened and migrated once)."""
    meta = click.get_current_context().find_root().meta
    if "incseg.ctx" not in meta:
        meta["incseg.ctx"] = open_store(meta.get("incseg.storage"),
                                        ml=MLSettings.from_env(**meta.get("incseg.ml", {})),
                                        database_url=meta.get("incseg.database_url"))
    return meta["incseg.ctx"]


@contextmanager
def progress_bar(desc: str) -> Iterator[Callable[[float, str], None]]:
    """A tqdm bar on stderr driven by service progress callbacks (fraction 0..1, message)."""
    from tqdm import tqdm  # only commands that show progress pay for importing it

    with tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=False) as bar:
        def update(fraction: float, message: str) -> None:
            percent = round(100 * fraction)
            if percent != bar.n:  # redraw on whole-percent steps only: logs stay short when not a TTY
                bar.n = percent
                bar.set_postfix_str(message[-40:], refresh=False)
                bar.refresh()
        yield update


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def command(group: click.Group, name: str | None = None) -> Callable[[Callable[..., Any]], click.Command]:
    """``group.command`` with the ``--storage`` option added."""
    def wrap(fn: Callable[..., Any]) -> click.Command:
        return group.command(name)(storage_option(fn))
    return wrap


@click.group(cls=IncsegGroup, context_settings={"help_option_names": ["-h", "--help"]})
@storage_option
@ml_options
def cli() -> None:
    """incseg: curate classes, images and masks, and train a segmentation model step by step."""


