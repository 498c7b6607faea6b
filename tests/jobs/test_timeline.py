"""The job page's timeline, derived from the events alone (jobs/timeline.py)."""

from datetime import UTC, datetime, timedelta

from jobs.models import EventType, JobStatus
from jobs.timeline import StepState, duration_text, timeline_build, vocabulary
from jobs.wire import WireEvent

STEPS = [("prepare", "Prepare"), ("contracts", "Contracts"), ("package", "Package")]
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _event(
    seq: int,
    at_s: float,
    *,
    step: int | None = None,
    message: str = "",
    type_: str = EventType.PROGRESS_UPDATE,
    status: str = "running",
) -> WireEvent:
    key, label = STEPS[step - 1] if step else ("", "")
    return WireEvent(
        job="j",
        seq=seq,
        type=type_,
        ts=T0 + timedelta(seconds=at_s),
        status=status,
        percent=0,
        message=message,
        eta_s=None,
        step={"key": key, "label": label, "index": step, "total": 3} if step else None,
    )


def _run(*extra: WireEvent) -> list[WireEvent]:
    return [
        _event(1, 0, message="Queued", type_=EventType.JOB_UPDATE, status="queued"),
        _event(2, 1, message="Started", type_=EventType.JOB_UPDATE),
        _event(3, 1.5, step=1, message="Prepare…"),
        _event(4, 2, step=1, message="14 files to write"),
        _event(5, 4, step=2, message="Contracts…"),
        _event(6, 5, step=2, message="compiling 2/3: Token.sol"),
        *extra,
    ]


def test_a_step_runs_from_its_first_event_to_the_next_steps_with_its_details():
    steps = timeline_build(steps=STEPS, events=_run(), status=JobStatus.RUNNING)

    assert [s.state for s in steps] == ["done", "running", "pending"]
    assert steps[0].duration_s == 2.5 and steps[0].duration_text == "2.5 s"
    assert steps[0].details == ["14 files to write"]  # "Prepare…" only repeats the name
    assert steps[1].started == T0 + timedelta(seconds=4) and steps[1].duration_s is None
    assert steps[1].details == ["compiling 2/3: Token.sol"]
    assert steps[1].is_open and not steps[0].is_open and steps[2].started is None


def test_a_cancel_stops_the_step_it_interrupted_and_the_rest_are_skipped():
    events = _run(
        _event(
            7, 6, step=2, message="Cancelling…", type_=EventType.JOB_UPDATE, status="cancelling"
        ),
        _event(
            8, 7, step=2, message="Cancelled", type_=EventType.COMPLETION_STATUS, status="cancelled"
        ),
    )
    steps = timeline_build(steps=STEPS, events=events, status=JobStatus.CANCELLED)

    assert [s.state for s in steps] == ["done", StepState.STOPPED, StepState.SKIPPED]
    assert steps[1].duration_s == 3 and "Cancelling…" in steps[1].details
    assert steps[1].state_label == "Stopped" and steps[1].icon == "■"
    assert steps[2].state_label == "Skipped" and steps[2].started is None


def test_a_failure_marks_its_step_failed_and_open_and_leaves_the_raw_error_to_the_page():
    events = _run(
        _event(
            7,
            6,
            step=2,
            message="solc: 1 error",
            status="running",
            type_=EventType.ERROR_NOTIFICATION,
        ),
        _event(
            8,
            6.5,
            step=2,
            message="Generation failed",
            status="failed",
            type_=EventType.COMPLETION_STATUS,
        ),
    )
    steps = timeline_build(steps=STEPS, events=events, status=JobStatus.FAILED)

    assert [s.state for s in steps] == ["done", "failed", "skipped"]
    assert steps[1].is_open and steps[1].details == ["compiling 2/3: Token.sol"]


def test_each_step_carries_the_templates_usual_duration():
    steps = timeline_build(
        steps=STEPS, events=_run(), status=JobStatus.RUNNING, usual={"prepare": 2.0, "package": 61}
    )

    assert [s.usual_s for s in steps] == [2.0, None, 61]
    assert [s.usual_text for s in steps] == ["2.0 s", "", "1 min 01 s"]


def test_success_marks_every_step_done_and_a_queued_job_has_nothing_started():
    done = _run(
        _event(7, 6, step=3, message="Package…"),
        _event(
            8, 9, step=3, message="ready", type_=EventType.COMPLETION_STATUS, status="succeeded"
        ),
    )
    assert [
        s.state for s in timeline_build(steps=STEPS, events=done, status=JobStatus.SUCCEEDED)
    ] == ["done"] * 3
    queued = timeline_build(steps=STEPS, events=_run()[:1], status=JobStatus.QUEUED)
    assert [s.state for s in queued] == ["pending"] * 3


def test_durations_read_like_a_person_writes_them():
    assert [duration_text(s) for s in (0.04, 9.96, 12.4, 59.6, 125)] == [
        "0.0 s",
        "10 s",
        "12 s",
        "1 min 00 s",
        "2 min 05 s",
    ]
    assert duration_text(None) == ""


def test_the_vocabulary_names_every_state_and_status_once_with_words_and_shapes():
    words = vocabulary()
    assert set(words["steps"]) == {"pending", "running", "done", "failed", "stopped", "skipped"}
    assert all(v["label"] and v["icon"] for v in words["steps"].values())
    assert set(words["statuses"]) == set(JobStatus.values)
    assert words["statuses"]["queued"] == {"label": "Queued", "state": "pending"}
