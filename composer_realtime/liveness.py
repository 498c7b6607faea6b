"""/healthz, answered in front of Django: liveness must not wait on what it does not check.

Through Django even a view that reads nothing takes a shared sync thread three times per
request (the request_started and request_finished signals close database connections, and a
sync view runs there): while the database hangs, those threads are busy, and a liveness probe
that waits behind them would have the orchestrator restart a process that is alive and well.
Answered here, /healthz costs no thread, no middleware and no database: it says that this
process's event loop runs. The Django view (composer_realtime/views.py) gives the same answer
where no ASGI server stands in front (the test client, WSGI).
"""

import inspect
import json
from collections.abc import Awaitable

from realtime.api import ASGIApp, Receive, Scope, Send

PATH = "/healthz"
BODY = {"status": "ok"}
_BODY = json.dumps(BODY).encode()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


class Liveness:
    """Answer GET and HEAD /healthz; hand everything else to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @inspect.markcoroutinefunction
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: an open stream keeps no frame of this wrapper.
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] in _METHODS:
            return _answer(scope, send)
        return self.app(scope, receive, send)


_METHODS = frozenset({"GET", "HEAD"})


async def _answer(scope: Scope, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    body = b"" if scope["method"] == "HEAD" else _BODY
    await send({"type": "http.response.body", "body": body})
