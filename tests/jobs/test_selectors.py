"""The stream's start (`job_stream_start`): one statement on PostgreSQL that must answer
exactly as the plain ORM reads do, for every kind of viewer, cursor and limit."""

import uuid

import pytest

from jobs import selectors, services
from jobs.access import Identity
from jobs.pipeline import run as run_pipeline

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Start Coin", "template": "token"}


@pytest.fixture
def jobs(owner, settings):
    """A finished job of `owner` and a finished anonymous one of session "anon-1"."""
    settings.JOBS_STEP_PACE_S = 0
    mine = services.job_create(owner=owner, params=PARAMS)
    theirs = services.job_create(owner=None, params=PARAMS, anon_owner="anon-1")
    for job in (mine, theirs):
        run_pipeline(job_id=job.pk)
        job.refresh_from_db()
    return mine, theirs


def _viewers(owner) -> dict[str, Identity]:
    return {
        "owner": Identity(user_id=owner.pk, is_staff=False, anon_owner=""),
        "owner with a session id": Identity(user_id=owner.pk, is_staff=False, anon_owner="x"),
        "staff": Identity(user_id=owner.pk + 1000, is_staff=True, anon_owner=""),
        "other user": Identity(user_id=owner.pk + 1, is_staff=False, anon_owner=""),
        "anon owner": Identity(user_id=None, is_staff=False, anon_owner="anon-1"),
        "other anon": Identity(user_id=None, is_staff=False, anon_owner="anon-2"),
        "nobody": Identity(user_id=None, is_staff=False, anon_owner=""),
    }


@pytest.mark.parametrize("after", [0, 3, 10_000, -1])
@pytest.mark.parametrize("limit", [1000, 2])
def test_one_statement_answers_as_the_orm_does(jobs, owner, after, limit):
    for job in jobs:
        for name, viewer in _viewers(owner).items():
            kwargs = {"job_id": job.pk, "viewer": viewer, "after": after, "limit": limit}
            assert selectors.job_stream_start(**kwargs) == selectors._stream_start_orm(**kwargs), (
                name
            )


def test_who_sees_what(jobs, owner):
    mine, theirs = jobs
    viewers = _viewers(owner)
    seen = {
        name: [
            selectors.job_stream_start(job_id=job.pk, viewer=viewer, after=0) is not None
            for job in (mine, theirs)
        ]
        for name, viewer in viewers.items()
    }
    assert seen == {
        "owner": [True, False],
        "owner with a session id": [True, False],
        "staff": [True, True],
        "other user": [False, False],
        "anon owner": [False, True],
        "other anon": [False, False],
        "nobody": [False, False],
    }


def test_the_events_after_the_cursor_in_order_and_none_when_caught_up(jobs, owner):
    mine, _ = jobs
    viewer = _viewers(owner)["owner"]
    start = selectors.job_stream_start(job_id=mine.pk, viewer=viewer, after=2)
    assert start is not None and start.is_finished and start.last_seq == mine.last_seq
    assert [event.seq for event in start.events] == list(range(3, mine.last_seq + 1))
    assert start.events[-1].is_final
    caught_up = selectors.job_stream_start(job_id=mine.pk, viewer=viewer, after=mine.last_seq)
    assert caught_up is not None and caught_up.events == []
    assert selectors.job_stream_start(job_id=uuid.uuid4(), viewer=viewer, after=0) is None


@pytest.mark.parametrize("limit", [1000, 2])
def test_many_starts_in_one_statement_answer_as_one_each(jobs, owner, limit):
    """Every viewer, cursor and job (and one that does not exist) in one batch, the same job
    several times over: each answer is the one `job_stream_start` gives it alone."""
    asks = [
        selectors.StartAsk(job_id=job_id, viewer=viewer, after=after, limit=limit)
        for job_id in [job.pk for job in jobs] + [uuid.uuid4()]
        for viewer in _viewers(owner).values()
        for after in (0, 3, 10_000, -1)
    ]
    asks += asks[:5]
    answers = selectors.job_stream_starts(asks)
    assert len(answers) == len(asks)
    for ask, answer in zip(asks, answers, strict=True):
        assert answer == selectors.job_stream_start(
            job_id=ask.job_id, viewer=ask.viewer, after=ask.after, limit=ask.limit
        ), ask
    assert sum(answer is not None for answer in answers) > len(asks) // 4  # not all refusals
