"""/healthz is answered in front of Django (no thread, no middleware, no database); every
other request goes on to the application."""

import asyncio
import json
from typing import Any

from composer_realtime.liveness import Liveness


def _call(app: Liveness, method: str, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def _application(seen: list[str]) -> Any:
    async def application(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return application


def test_healthz_is_answered_without_the_application():
    seen: list[str] = []
    sent = _call(Liveness(_application(seen)), "GET", "/healthz")
    assert seen == [], "Django never saw it"
    assert sent[0]["status"] == 200
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"status": "ok"}
    head = _call(Liveness(_application(seen)), "HEAD", "/healthz")
    assert head[0]["status"] == 200 and head[1]["body"] == b""


def test_everything_else_goes_to_the_application():
    seen: list[str] = []
    app = Liveness(_application(seen))
    for method, path in (("POST", "/healthz"), ("GET", "/healthz/"), ("GET", "/readyz")):
        assert _call(app, method, path)[0]["status"] == 404
    assert seen == ["/healthz", "/healthz/", "/readyz"]
