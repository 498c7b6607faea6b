"""The one wire format of a job event, and the payload fields named once."""

import json
from dataclasses import fields
from datetime import UTC, datetime

from jobs.models import EventType, Job, JobEvent
from jobs.wire import PAYLOAD_FIELDS, Step, WireEvent, event_payload, wire_payload

TS = datetime(2026, 11, 25, 20, 48, 26, 123456, tzinfo=UTC)
STEP = {"total": 7, "index": 3, "label": "Render contracts", "key": "contracts"}
PAYLOAD = {"status": "running", "percent": 40, "step": STEP, "message": "Hi", "eta_s": 12}


def test_the_payload_fields_are_the_wire_event_s_after_its_envelope():
    names = [f.name for f in fields(WireEvent)]

    assert names == ["job", "seq", "type", "ts", *PAYLOAD_FIELDS]


def test_an_event_row_becomes_the_json_object_with_every_key_in_order():
    row = JobEvent(job_id="j", seq=7, type=EventType.PROGRESS_UPDATE, payload=PAYLOAD)
    row.created_at = TS

    event = WireEvent.from_row(row)

    assert list(json.loads(event.to_json())) == list(event.as_dict())
    assert event.as_dict() == {
        "job": "j",
        "seq": 7,
        "type": "progress-update",
        "ts": "2026-11-25T20:48:26.123456Z",
        **PAYLOAD,
        "step": {"key": "contracts", "label": "Render contracts", "index": 3, "total": 7},
    }
    assert list(event.as_dict()["step"]) == ["key", "label", "index", "total"]


def test_payload_given_as_json_text_reads_the_same_and_missing_optionals_default():
    text = json.dumps({"status": "queued", "percent": 0})

    event = WireEvent.from_values(job="j", seq=1, type="job-update", created_at=TS, payload=text)

    assert (event.step, event.message, event.eta_s) == (None, "", None)


def test_the_message_carries_seq_type_time_and_whether_it_is_the_last():
    last = WireEvent.from_values(
        job="j", seq=9, type=EventType.COMPLETION_STATUS, created_at=TS, payload=PAYLOAD
    )

    message = last.to_message()

    assert (message.id, message.event, message.final) == (9, "completion-status", True)
    assert message.data == last.to_json() and message.ts == TS.timestamp()


def test_a_job_s_payload_is_its_snapshot_and_on_the_wire_its_step_in_order():
    job = Job(status="running", percent=40, step=STEP, message="Hi", eta_s=12)

    assert event_payload(job) == PAYLOAD
    assert list(wire_payload(job)["step"]) == ["key", "label", "index", "total"]
    assert wire_payload(Job(status="queued", step=None))["step"] is None


def test_a_step_is_its_json_object():
    step = Step(key="contracts", label="Render contracts", index=3, total=7)

    assert step.as_dict() == {
        "key": "contracts",
        "label": "Render contracts",
        "index": 3,
        "total": 7,
    }
