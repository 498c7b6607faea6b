"""The one wire format of a job event: the same JSON object on SSE, in polls and in Redis, and
the step object it carries. (What a cursor is, and how clients send one: `jobs.cursor`.)"""

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from jobs.models import EventType, Job, JobEvent
from realtime.api import Message


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """A named step of the generation pipeline."""

    key: str
    """Stable identifier, e.g. "contracts"."""
    label: str
    """What a person reads, e.g. "Render contracts"."""
    index: int
    """Position, starting at 1."""
    total: int
    """How many steps the pipeline has."""

    def as_dict(self) -> dict[str, Any]:
        """Return the step as the JSON object of the wire format (in `_STEP_KEYS` order; not
        `dataclasses.asdict`, which deep-copies, on the write path of every event)."""
        return {"key": self.key, "label": self.label, "index": self.index, "total": self.total}


PAYLOAD_FIELDS = ("status", "percent", "step", "message", "eta_s")
"""The job's fields an event carries (its stored payload), in wire order: the job as the event
left it. The write path, the poll's snapshot and the API document derive from this."""


def event_payload(job: Job) -> dict[str, Any]:
    """Return the payload of the event a job's snapshot makes now, as stored."""
    return {name: getattr(job, name) for name in PAYLOAD_FIELDS}


def wire_payload(job: Job) -> dict[str, Any]:
    """Return the job's payload fields as the wire shows them (the step's keys in order)."""
    return {**event_payload(job), "step": _canonical_step(job.step or None)}


@dataclass(frozen=True, kw_only=True, slots=True)
class WireEvent:
    """One job event as every client sees it."""

    job: str
    """The job's UUID."""
    seq: int
    """Per-job sequence number, 1, 2, 3 … without gaps."""
    type: str
    """job-update, progress-update, error-notification or completion-status."""
    ts: datetime
    """When the event was recorded."""
    status: str
    """The job's status after this event."""
    percent: int
    """0 to 100."""
    step: dict[str, Any] | None
    """The current step (key, label, index, total), if any."""
    message: str
    """Text for a person."""
    eta_s: int | None
    """Estimated seconds until the job finishes, if known."""

    @classmethod
    def from_row(cls, event: JobEvent) -> "WireEvent":
        """Return the wire form of a stored event."""
        return cls.from_values(
            job=str(event.job_id),
            seq=event.seq,
            type=event.type,
            created_at=event.created_at,
            payload=event.payload,
        )

    @classmethod
    def from_values(
        cls, *, job: str, seq: int, type: str, created_at: datetime, payload: dict[str, Any] | str
    ) -> "WireEvent":
        """Return the wire form of an event read as plain columns (`payload` as JSON text
        or decoded)."""
        if isinstance(payload, str):
            payload = json.loads(payload)
        assert isinstance(payload, dict)
        return cls(
            job=job,
            seq=seq,
            type=type,
            ts=created_at,
            status=payload["status"],
            percent=payload["percent"],
            step=_canonical_step(payload.get("step")),
            message=payload.get("message", ""),
            eta_s=payload.get("eta_s"),
        )

    @property
    def is_final(self) -> bool:
        """Return True for the job's last event."""
        return self.type == EventType.COMPLETION_STATUS

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON object, every key present, `ts` in UTC with microseconds."""
        return {
            "job": self.job,
            "seq": self.seq,
            "type": self.type,
            "ts": self.ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "status": self.status,
            "percent": self.percent,
            "step": self.step,
            "message": self.message,
            "eta_s": self.eta_s,
        }

    def to_json(self) -> str:
        """Return the JSON object on one line."""
        return json.dumps(self.as_dict(), separators=(",", ":"), ensure_ascii=False)

    def to_message(self) -> Message:
        """Return the transport message carrying this event."""
        return Message(
            id=self.seq,
            event=self.type,
            data=self.to_json(),
            ts=self.ts.timestamp(),
            final=self.is_final,
        )


_STEP_KEYS = tuple(field.name for field in fields(Step))


def _canonical_step(step: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the step with keys in wire order (jsonb does not keep insertion order)."""
    if step is None:
        return None
    return {key: step[key] for key in _STEP_KEYS}
