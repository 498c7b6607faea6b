"""Database reads for the async stream views: one trip to a sync thread each, the connection
handed back before the stream waits, and stream openings that arrive together read together.

Every stream open reads its job and its backlog (`selectors.job_stream_start`). One at a time,
each costs a hop to a sync thread and a statement; in a reconnect storm thousands arrive within
seconds. `start_stream` queues the ask and, while a read is in flight on this event loop, the
asks that arrive meanwhile wait for the next one, which reads them all in one statement
(`selectors.job_stream_starts`, at most `BATCH` asks). An ask that finds nothing in flight is
read at once: batching adds no wait, it only fills the waits there are.
"""

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection

from jobs import selectors
from realtime.api import PerLoop

BATCH = 200
"""Most asks read in one statement (the statement's parameters are arrays of this length)."""


async def read[T](select: Callable[..., T], **kwargs: Any) -> T:
    """Return what `select` reads, with the connection handed back before the stream waits:
    one trip to the sync thread for both."""
    return await _read_and_close(select, kwargs)


@sync_to_async  # wrapped once, not per call: building the wrapper shows in profiles
def _read_and_close[T](select: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return select(**kwargs)
    finally:
        # Resolved inside the sync thread: `connection` is per thread and per request context.
        connection.close()


type _Waiting = tuple[selectors.StartAsk, asyncio.Future[selectors.StreamStart | None]]


class _Starts:
    """The asks of one event loop waiting for a read, and the task reading them, if any."""

    __slots__ = ("flushing", "waiting")

    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.flushing: asyncio.Task[None] | None = None


_STARTS = PerLoop(_Starts)


async def start_stream(ask: selectors.StartAsk) -> selectors.StreamStart | None:
    """Return `selectors.job_stream_start` of `ask`, read with whatever asks wait with it."""
    loop = asyncio.get_running_loop()
    starts = _STARTS.get()
    answer: asyncio.Future[selectors.StreamStart | None] = loop.create_future()
    starts.waiting.append((ask, answer))
    if starts.flushing is None:
        # A task of its own, so that no request's task serves the others' reads (nor takes
        # them down when its client leaves), in an empty context: no request's thread or
        # ThreadSensitiveContext, which ends with that request (sync_to_async then uses
        # asgiref's one thread for code outside requests, here: these reads only).
        starts.flushing = loop.create_task(_flush(starts), context=contextvars.Context())
    return await answer


async def _flush(starts: _Starts) -> None:
    """Read every waiting ask, BATCH at a time, until none is left."""
    batch: list[_Waiting] = []
    try:
        while starts.waiting:
            batch = [item for item in starts.waiting[:BATCH] if not item[1].done()]
            del starts.waiting[:BATCH]
            if not batch:
                continue  # every one of them gave up (its client left)
            try:
                found = await read(selectors.job_stream_starts, asks=[ask for ask, _ in batch])
            except Exception as error:  # each ask fails as its own read would have
                _settle(batch, error=error)
            else:
                _settle(batch, found=found)
            batch = []
    finally:
        starts.flushing = None
        _settle(batch + starts.waiting, error=None)  # only if cancelled (the loop ends)
        starts.waiting.clear()


def _settle(
    batch: list[_Waiting],
    *,
    found: list[selectors.StreamStart | None] | None = None,
    error: BaseException | None = None,
) -> None:
    """Answer each waiting ask: its start, or the error, or (neither) cancelled."""
    for number, (_, answer) in enumerate(batch):
        if answer.done():
            continue
        if found is not None:
            answer.set_result(found[number])
        elif error is not None:
            answer.set_exception(error)
        else:
            answer.cancel()
