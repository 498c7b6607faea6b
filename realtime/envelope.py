"""The Redis envelope: how a `Message` travels on a pub/sub channel, and back.

Four header lines (id, event, record time, final flag) and the data. Anything may be published
on a channel the hub listens to, so `unpack` trusts nothing: bytes that are not UTF-8, too few
lines, a non-numeric id, an event name an SSE field cannot carry, all raise `MalformedEnvelope`.
"""

import math
import re

from realtime.message import Message

_EVENT_NAME = re.compile(r"[^\r\n\x00]{1,200}")


class MalformedEnvelope(ValueError):
    """A payload on a channel that `pack` did not make."""


def pack(message: Message) -> str:
    """Return `message` as one pub/sub payload."""
    return f"{message.id}\n{message.event}\n{message.ts!r}\n{int(message.final)}\n{message.data}"


def unpack(payload: bytes | str) -> Message:
    """Return the message in `payload`; raise MalformedEnvelope if `pack` did not make it."""
    try:
        text = payload.decode() if isinstance(payload, bytes) else payload
        id_, event, ts, final, data = text.split("\n", 4)
        message = Message(id=int(id_), event=event, ts=float(ts), final=final == "1", data=data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEnvelope(f"not an envelope: {payload[:80]!r}") from exc
    if (
        message.id < 0
        or final not in {"0", "1"}
        or not _EVENT_NAME.fullmatch(event)
        or not math.isfinite(message.ts)
    ):
        raise MalformedEnvelope(f"not an envelope: {payload[:80]!r}")
    return message
