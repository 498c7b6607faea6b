"""Writes of a running job (jobs/progress.py): each event, once committed, goes to Redis with the
writer's stages (realtime/stages.py) in its envelope."""

import time
from collections.abc import Iterator

import pytest
import redis
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from jobs import services
from jobs.models import Job
from realtime import envelope, publisher
from realtime.message import Message
from realtime.stages import Trace

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in a worker

PARAMS = {"name": "Stage Coin", "template": "token"}


@pytest.fixture
def job() -> Job:
    job = services.job_create(owner=None, params=PARAMS)
    assert publisher.PUBLISHER.flush(10)
    return job


@pytest.fixture
def doorbell(settings, job: Job) -> Iterator[redis.client.PubSub]:
    pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(job.channel)
    assert pubsub.get_message(timeout=2) is None  # the confirmation, skipped
    yield pubsub
    pubsub.close()


def _rung(pubsub: redis.client.PubSub) -> tuple[Message, Trace | None]:
    assert publisher.PUBLISHER.flush(10)
    found = pubsub.get_message(timeout=5)
    assert found is not None, "nothing was published"
    return envelope.unpack_traced(found["data"])


def test_a_progress_event_carries_its_statement_by_the_server_and_its_commit(job, doorbell):
    began = time.monotonic()
    event = services.job_report_progress(job=job, percent=10)
    took = time.monotonic() - began

    message, trace = _rung(doorbell)
    assert message.id == event.seq and trace is not None
    assert trace.statement_s is not None and trace.commit_s is not None
    assert 0 < trace.statement_s < took  # the server ran the statement for some microseconds
    assert 0 < trace.commit_s < took
    assert trace.statement_s + trace.commit_s < took  # both inside the call
    assert trace.publish_s is not None and trace.publish_s >= 0


def test_an_event_written_in_a_transaction_counts_its_commit_up_to_the_publish(job, doorbell):
    started = services.job_start(job=job)  # a locked row, a save and an insert, then commit

    message, trace = _rung(doorbell)
    assert message.id == started.seq and trace is not None
    assert trace.statement_s is None  # several statements: none measured on its own
    assert trace.commit_s is not None and trace.commit_s > 0


def test_progress_and_heartbeats_update_the_job_row_without_touching_an_index(job):
    """Each event rewrites its job's row: a HOT update (no index holds a column it changes, and
    the page has room, jobs' fillfactor) writes no index entry. An index on heartbeat_at, say,
    would make every event write one entry per index of the table."""
    services.job_start(job=job)  # the status changes: an index entry, as it should

    def updates(cursor: CursorWrapper) -> tuple[int, int]:
        """This backend's updates of jobs not yet flushed to the statistics: all, and HOT."""
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass),"
            " pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Job._meta.db_table] * 2,
        )
        row = cursor.fetchone()
        return int(row[0]), int(row[1])

    with transaction.atomic(), connection.cursor() as cursor:
        all_before, hot_before = updates(cursor)
        for percent in range(1, 6):
            services.job_report_progress(job=job, percent=percent, message=f"{percent}%")
        assert services.job_heartbeat(job_id=job.pk)
        all_after, hot_after = updates(cursor)
    assert (all_after - all_before, hot_after - hot_before) == (6, 6)
