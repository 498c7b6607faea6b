"""The Redis envelope: how a `Message` travels on a pub/sub channel, and back.

Four header lines (id, event, times, final flag) and the data. The times line holds the record
time and, from a writer that traced it, the writer's stages (realtime/stages.py), separated by
spaces: `ts sent statement commit publish` (a stage not measured is `-`). A reader takes the
record time alone from an older writer, and ignores fields past the fifth from a newer one.
(A reader older than the trace refuses a traced envelope as malformed: deploy the web
processes before the writers, docs/deployment.md.)

Anything may be published on a channel the hub listens to, so `unpack` trusts nothing: bytes
that are not UTF-8, too few lines, a non-numeric id or time, an event name an SSE field cannot
carry, all raise `MalformedEnvelope`.
"""

import math
import re

from realtime.message import Message
from realtime.stages import Trace

_EVENT_NAME = re.compile(r"[^\r\n\x00]{1,200}")
_TRACE_FIELDS = 5
_UNMEASURED = "-"


class MalformedEnvelope(ValueError):
    """A payload on a channel that `pack` did not make."""


def pack(message: Message, trace: Trace | None = None) -> str:
    """Return `message` as one pub/sub payload, with the writer's `trace` if given."""
    times = repr(message.ts)
    if trace is not None:
        stages = (trace.statement_s, trace.commit_s, trace.publish_s)
        times += f" {trace.sent!r} " + " ".join(_seconds(s) for s in stages)
    return f"{message.id}\n{message.event}\n{times}\n{int(message.final)}\n{message.data}"


def _seconds(value: float | None) -> str:
    return _UNMEASURED if value is None else f"{value:.6f}"


def unpack(payload: bytes | str, *, received: float = 0.0) -> Message:
    """Return the message in `payload` (read at `received`, see `Message.received`); raise
    MalformedEnvelope if `pack` did not make it."""
    return unpack_traced(payload, received=received)[0]


def unpack_traced(payload: bytes | str, *, received: float = 0.0) -> tuple[Message, Trace | None]:
    """Return the message in `payload` and the writer's trace (None if it sent none); raise
    MalformedEnvelope if `pack` did not make it."""
    try:
        text = payload.decode() if isinstance(payload, bytes) else payload
        id_, event, times, final, data = text.split("\n", 4)
        ts, *stages = times.split(" ")
        message = Message(
            id=int(id_),
            event=event,
            ts=_finite(ts),
            final=final == "1",
            data=data,
            received=received,
        )
        trace = _trace(stages)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEnvelope(f"not an envelope: {payload[:80]!r}") from exc
    if message.id < 0 or final not in {"0", "1"} or not _EVENT_NAME.fullmatch(event):
        raise MalformedEnvelope(f"not an envelope: {payload[:80]!r}")
    return message, trace


def _trace(fields: list[str]) -> Trace | None:
    if not fields:
        return None
    if len(fields) < _TRACE_FIELDS - 1:
        raise ValueError(f"a trace of {len(fields)} fields")
    sent, statement, commit, publish = fields[: _TRACE_FIELDS - 1]
    return Trace(
        sent=_finite(sent),
        statement_s=_stage(statement),
        commit_s=_stage(commit),
        publish_s=_stage(publish),
    )


def _stage(field: str) -> float | None:
    return None if field == _UNMEASURED else _finite(field)


def _finite(field: str) -> float:
    value = float(field)
    if not math.isfinite(value):
        raise ValueError(f"{field!r} is not a finite number")
    return value
