"""Graceful shutdown: on SIGTERM/SIGINT, tell every open stream to come back later, then go.

Servers (uvicorn, gunicorn's uvicorn worker) wait for open connections before they exit, and an
SSE stream never ends by itself while its job runs. So when the process is asked to stop, the
hubs are drained first: each stream sends a `retry:` with a wide random delay and ends, so that
clients come back spread out over several seconds instead of all at once.
"""

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from realtime.hub import drain_all

logger = logging.getLogger(__name__)
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Chain a drain step in front of the server's own SIGTERM/SIGINT handlers."""
    for signum in _SIGNALS:
        previous = signal.getsignal(signum)
        if getattr(previous, "_composer_drain", False):
            continue  # already chained (a second lifespan startup)
        signal.signal(signum, _chained(loop, previous))


Handler = Callable[[int, FrameType | None], None]


def _chained(loop: asyncio.AbstractEventLoop, previous: Any) -> Handler:
    def handler(signum: int, frame: FrameType | None) -> None:
        logger.warning("%s: draining open streams", signal.Signals(signum).name)
        loop.call_soon_threadsafe(drain_all)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:  # no server handler: die as the signal says
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    handler._composer_drain = True  # type: ignore[attr-defined]
    return handler
