"""Launch the web UI: host/port/auth from arguments or environment, loopback by default.

Entry points: ``python app.py``, ``python -m incseg_app.ui`` and ``incseg serve`` all end in ``main``.
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence

from ..domain.errors import IncsegError, ValidationError
from ..services import AppContext, open_store
from ..services.access import PASSWORD_ON_COMMAND_LINE, resolve_credentials
from ..services.job_process import ProcessJobRunner
from ..services.jobs import interrupt_stale_jobs
from ..services.ml_settings import MLSettings
from .app import LAUNCH, build_app
from .login_guard import login_guard

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
ML_FLAGS = (  # the same weight and device options as the ``incseg`` command line
    ("--encoder", "encoder", "encoder of new base versions: efficientnet_lite0, openclip_vit, tiny ($INCSEG_ENCODER)"),
    ("--clip-model", "clip_model", "open_clip architecture name, e.g. ViT-B-16 ($INCSEG_CLIP_MODEL)"),
    ("--clip-pretrained", "clip_pretrained", "open_clip weights file or tag ($INCSEG_CLIP_PRETRAINED)"),
    ("--sam-checkpoint", "sam_checkpoint", "Segment Anything checkpoint file ($INCSEG_SAM_CHECKPOINT)"),
    ("--sam-model-type", "sam_model_type", "vit_b, vit_l or vit_h ($INCSEG_SAM_MODEL_TYPE)"),
    ("--device", "device", "auto, cpu, cuda or cuda:N ($INCSEG_DEVICE)"),
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_launch(host: str | None = None, port: int | None = None, auth: str | None = None,
                   auth_file: str | None = None) -> tuple[str, int, list[tuple[str, str]] | None]:
    """(host, port, logins) from arguments, else INCSEG_HOST / INCSEG_PORT / INCSEG_AUTH /
    INCSEG_AUTH_FILE, else 127.0.0.1:7860 with no login."""
    host = host or os.environ.get("INCSEG_HOST") or DEFAULT_HOST
    raw_port = port if port is not None else os.environ.get("INCSEG_PORT") or DEFAULT_PORT
    try:
        port_num = int(raw_port)
    except ValueError:
        raise ValidationError(f"port must be a number, got {raw_port!r}") from None
    creds = resolve_credentials(auth, auth_file)
    if not is_loopback(host) and creds is None:
        log.warning("serving on %s without a login: anyone who can reach this machine can use and change "
                    "the store; pass --auth user:pass or --auth-file FILE (or set INCSEG_AUTH / INCSEG_AUTH_FILE)",
                    host)
    return host, port_num, creds


def serve_app(ctx: AppContext, host: str | None = None, port: int | None = None, auth: str | None = None,
              auth_file: str | None = None) -> None:
    """Mark jobs of dead processes interrupted, build the app and serve it (blocks).

    The store folder is blocked for Gradio's file route (defence in depth: the UI serves images it
    decodes itself), uploads are capped at the store's file-size limit, and failed logins are
    throttled per client (``login_guard``)."""
    host, port_num, creds = resolve_launch(host, port, auth, auth_file)
    for job in interrupt_stale_jobs(ctx):
        log.warning("job %d (%s) was interrupted by a previous shutdown", job.id, job.kind.value)
    demo = build_app(ctx, ProcessJobRunner(ctx))  # jobs run in child processes: a crash there spares the server
    demo.launch(server_name=host, server_port=port_num, auth=creds, share=False, blocked_paths=[str(ctx.root)],
                max_file_size=ctx.settings.max_file_bytes, app_kwargs={"middleware": [login_guard()]}, **LAUNCH)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``--storage/--host/--port/--auth`` and the weight options, open the store and serve; domain
    errors exit with 2."""
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve the incseg web UI.")
    parser.add_argument("--storage", default=None, help="store folder (default $INCSEG_STORAGE or ./storage)")
    parser.add_argument("--host", default=None, help=f"interface (default $INCSEG_HOST or {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=None, help=f"port (default $INCSEG_PORT or {DEFAULT_PORT})")
    parser.add_argument("--auth", default=None, help="user:pass login (default $INCSEG_AUTH); visible to other "
                                                       "users in ps: prefer --auth-file")
    parser.add_argument("--auth-file", default=None, help="file of user:pass lines (default $INCSEG_AUTH_FILE)")
    parser.add_argument("--database-url", default=None,
                        help="database (default $INCSEG_DATABASE_URL, else incseg.db in the store folder)")
    for flag, key, text in ML_FLAGS:
        parser.add_argument(flag, dest=key, default=None, help=text)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio polls itself at start-up
    if args.auth:
        log.warning(PASSWORD_ON_COMMAND_LINE)
    try:
        ml = MLSettings.from_env(**{key: getattr(args, key) for _, key, _ in ML_FLAGS})
        serve_app(open_store(args.storage, ml=ml, database_url=args.database_url), host=args.host, port=args.port,
                  auth=args.auth, auth_file=args.auth_file)
    except IncsegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
