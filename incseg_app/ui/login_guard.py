"""An ASGI middleware in front of Gradio's ``/login`` route that applies ``services.access.LoginThrottle``.

Gradio checks passwords itself and gives the check no request, so the throttle sits around the route:
while a client (its socket address; forwarded-for headers are not trusted) must wait, its attempt is
answered ``429 Too Many Requests`` with ``Retry-After`` and never reaches the password check;
otherwise the attempt runs and its outcome (200 = logged in) is recorded.
"""
from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.middleware import Middleware

from ..services.access import LoginThrottle

log = logging.getLogger(__name__)


class LoginGuard:
    """ASGI middleware: throttle ``POST .../login``; every other request passes untouched."""

    def __init__(self, app: Any, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                not scope.get("path", "").rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            await _too_many(send, wait)
            return
        status: list[int] = []

        async def remember(message: dict) -> None:
            if message.get("type") == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, remember)
        ok = bool(status) and status[0] == 200
        self.throttle.record(client, ok)
        if not ok:
            log.warning("failed login from %s", client)


async def _too_many(send: Any, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps({"detail": f"Too many failed logins: try again in {seconds} s."}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def login_guard(throttle: LoginThrottle | None = None) -> Middleware:
    """The middleware entry for ``launch(app_kwargs={"middleware": [...]})``."""
    return Middleware(LoginGuard, throttle=throttle or LoginThrottle())
