"""The transport's one value: a message on a channel, encoded once for every stream."""

from dataclasses import dataclass, field
from functools import cached_property

from realtime.sse import encode_event


@dataclass(frozen=True, slots=False, kw_only=True)
class Message:
    """One event on a channel, ready to be written to any number of streams."""

    id: int
    """Position on its channel: 1, 2, 3 … without gaps (or increasing, for state channels)."""
    event: str
    """The SSE event name."""
    data: str
    """The payload, already serialised (normally one line of JSON)."""
    ts: float = field(default=0.0)
    """When the message was recorded (Unix time): delivery delay is measured against it."""
    final: bool = field(default=False)
    """True for the last message a channel will ever carry."""
    received: float = field(default=0.0, compare=False)
    """When this process's hub read it from Redis (`time.monotonic()`); 0.0 for a message
    read from the database. Where the fan-out's time is measured from (realtime/stages.py)."""

    @cached_property
    def sse(self) -> bytes:
        """Return the message as one SSE block; computed once, shared by every stream."""
        return encode_event(data=self.data, event=self.event, id=str(self.id))
