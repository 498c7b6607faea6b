"""Django's ASGI handler with a few shared sync threads instead of one per request.

Stock Django enters `ThreadSensitiveContext()` per request, and the first thread-sensitive
hop (a signal, a session read, the ORM) gets a thread of its own that lives as long as the
request: 10,000 open streams would hold 10,000 idle threads. Here each request is handed one
of K single-thread executors, round robin (asgiref >= 3.13), so sync work still runs on a
stable thread per request but threads no longer grow with open streams.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

from composer_realtime import metrics, shutdown

Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class SharedThreadsASGIHandler(ASGIHandler):
    """Serve every request with one of `threads` shared single-thread executors."""

    def __init__(self, *, threads: int) -> None:
        super().__init__()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-sync-{i}")
            for i in range(threads)
        ]
        self._next = itertools.cycle(self._executors)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext(executor=next(self._next)):
            await self.handle(scope, receive, _bounded(send, settings.REALTIME_SEND_TIMEOUT_S))


class SlowClientAborted(RequestAborted):
    """The client stopped reading: its stream is dropped as if it had disconnected.

    A subclass of RequestAborted so Django's handler treats it as a disconnect and still
    closes the response (which releases the stream's slot and subscription).
    """


def _bounded(send: Send, timeout_s: float) -> Send:
    """Return `send` with a time limit: a client that does not read cannot pin the stream."""

    async def bounded_send(message: Mapping[str, Any]) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await send(message)
        except TimeoutError:
            metrics.SLOW_CLIENTS_DROPPED.inc()
            raise SlowClientAborted(f"client read nothing for {timeout_s}s") from None

    return bounded_send


async def _lifespan(receive: Any, send: Any) -> None:
    """Acknowledge startup and shutdown so servers need no `--lifespan off`."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            shutdown.install(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
