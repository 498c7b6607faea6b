"""Where a live event's time goes, stage by stage, each measured where it happens.

An event's delay, from its record time `ts` to its write on a stream, is cut into six stages,
observed in the histogram `realtime_event_stage_seconds{stage=…}`:

- `statement`: the progress statement's execution, measured by the database server on its
  own clock (`statement_timestamp()` to `clock_timestamp()`): one clock, a duration.
- `commit`: from `ts` to the write's answer, less the statement; the writer's monotonic
  clock: the commit's WAL flush, the round trip, the client's own work.
- `publish`: from the answer to the PUBLISH written to Redis; the writer's monotonic clock:
  the work after the commit, the hop to the publisher thread, a batch in flight before it.
- `redis`: from the PUBLISH written to the hub reading it: the writer's wall clock (carried in
  the envelope) against this process's. One clock on one machine; across machines their
  offset is in it (a negative result counts as 0).
- `fanout`: from the hub reading it to a stream's turn to write it; this process's monotonic
  clock, per stream: the hub's queues and the streams woken before this one.
- `socket`: that stream's write of it; this process's monotonic clock, per stream: the
  framing and the hand-over of the bytes to the kernel.

The writer measures its three stages and sends them in the envelope (realtime/envelope.py), so
every web process that receives the event observes its whole path, whichever machine wrote it,
and the workers need no metrics endpoint of their own. The writer's stages and `redis` are
therefore counted once per event and receiving process, `fanout` and `socket` once per stream.
Events the hub reads from the database (no Redis) are not traced; `realtime_delivery_delay_seconds`
still counts them. A stream's observation is one append to a list; the histograms are
written once the loop's pass is over, after its writes (a fan-out to a thousand streams then
costs a few writes to the metric files, not two per stream, and none before its last write).
"""

import asyncio
import time
from dataclasses import dataclass

from realtime import metrics
from realtime.message import Message
from realtime.per_loop import PerLoop

STAGES = ("statement", "commit", "publish", "redis", "fanout", "socket")
"""The stages in the order an event goes through them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Write:
    """How a writer's part of one event went up to its commit (handed to `publish`)."""

    began: float
    """`time.monotonic()` when the event's `ts` was taken."""
    statement_s: float | None = None
    """The statement's execution on the database server, on its clock; None if not measured."""
    committed: float | None = None
    """`time.monotonic()` when the commit was answered; None: when it was handed to
    `publish` (which runs after the commit)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Trace:
    """The writer's stages of one event, carried in its envelope."""

    sent: float
    """The writer's `time.time()` when it wrote the PUBLISH."""
    statement_s: float | None
    commit_s: float | None
    publish_s: float | None


def trace(write: Write | None, *, handed: float, sent: float, sent_wall: float) -> Trace:
    """Return the trace of an event handed to `publish` at `handed` and published at `sent`
    (both `time.monotonic()` of the writer) and `sent_wall` (its `time.time()`)."""
    if write is None:  # a writer that did not say when it began: only its publish is known
        return Trace(sent=sent_wall, statement_s=None, commit_s=None, publish_s=sent - handed)
    committed = handed if write.committed is None else write.committed
    return Trace(
        sent=sent_wall,
        statement_s=write.statement_s,
        commit_s=committed - write.began - (write.statement_s or 0.0),
        publish_s=sent - committed,
    )


_DELAY = "delivery delay"
_HISTOGRAMS = {
    **{stage: metrics.EVENT_STAGES.labels(stage) for stage in STAGES},
    _DELAY: metrics.DELIVERY_DELAY,
}


class _Recorder:
    """The stages observed on one event loop during the current pass, written to the metrics
    once the pass is over: behind that pass's writes, so a fan-out's streams do not wait for
    them, and in one write per bucket (`metrics.Tally`) rather than two per observation."""

    __slots__ = ("_scheduled", "_tallies", "_written")

    def __init__(self) -> None:
        self._tallies = {name: metrics.Tally(histogram) for name, histogram in _HISTOGRAMS.items()}
        self._written: list[tuple[Message, float, float]] = []
        self._scheduled = False

    def arrived(self, trace: Trace, now: float) -> None:
        for stage, seconds in (
            ("statement", trace.statement_s),
            ("commit", trace.commit_s),
            ("publish", trace.publish_s),
            ("redis", now - trace.sent),
        ):
            if seconds is not None:
                self._tallies[stage].add(max(0.0, seconds))
        self._schedule()

    def written(self, message: Message, took: float, wrote: float) -> None:
        self._written.append((message, took, wrote))  # all a stream pays during its pass
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        self._scheduled = False
        written, self._written = self._written, []
        tallies = self._tallies
        delay, fanout, socket = tallies[_DELAY], tallies["fanout"], tallies["socket"]
        wall = time.time() - time.monotonic()  # this pass's monotonic times as wall times
        for message, took, wrote in written:
            delay.add(max(0.0, wrote + wall - message.ts))
            if message.received:
                fanout.add(max(0.0, took - message.received))
                socket.add(wrote - took)
        for tally in tallies.values():
            tally.write()


_RECORDERS = PerLoop(_Recorder)


def observe_arrival(trace: Trace, *, now: float) -> None:
    """Observe the writer's stages of an event and `redis`, now that the hub has read it
    (`now`: this process's `time.time()`)."""
    _RECORDERS.get().arrived(trace, now)


def observe_written(message: Message, *, took: float, wrote: float) -> None:
    """Observe one stream's `fanout` and `socket` of a live message it took off its queue at
    `took` and wrote by `wrote` (both `time.monotonic()`), and its delivery delay."""
    _RECORDERS.get().written(message, took, wrote)
