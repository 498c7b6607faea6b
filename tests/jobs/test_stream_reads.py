"""Stream openings that arrive together are read together (jobs/stream_reads.py), and each
gets its own answer: the batching changes how many statements run, never what they answer."""

import asyncio
import uuid

import pytest

from jobs import selectors, services
from jobs import stream_reads as reads
from jobs.access import Identity
from jobs.selectors import StartAsk

pytestmark = pytest.mark.django_db(transaction=True)  # the reads run on another thread


def _expected(asks: list[StartAsk]) -> list[selectors.StreamStart | None]:
    return [
        selectors.job_stream_start(job_id=a.job_id, viewer=a.viewer, after=a.after) for a in asks
    ]


def _asks(owner) -> list[StartAsk]:
    jobs = [
        services.job_create(owner=owner, params={"name": f"Batch {n}", "template": "token"})
        for n in range(5)
    ]
    mine = Identity(user_id=owner.pk, is_staff=False, anon_owner="")
    stranger = Identity(user_id=owner.pk + 1, is_staff=False, anon_owner="")
    return [
        StartAsk(job_id=job_id, viewer=viewer, after=0)
        for job_id in [job.pk for job in jobs] + [uuid.uuid4()]
        for viewer in (mine, stranger)
    ] * 60  # 720 asks


def test_asks_arriving_together_share_statements_and_get_their_own_answers(owner, monkeypatch):
    asks = _asks(owner)
    expected = _expected(asks)
    batches: list[int] = []
    real = selectors.job_stream_starts

    def counted(asks: list[StartAsk]) -> list[selectors.StreamStart | None]:
        batches.append(len(asks))
        return real(asks)

    monkeypatch.setattr(selectors, "job_stream_starts", counted)

    async def scenario() -> list[selectors.StreamStart | None]:
        return await asyncio.gather(*(reads.start_stream(ask) for ask in asks))

    assert asyncio.run(scenario()) == expected
    assert sum(batches) == len(asks)
    assert max(batches) == reads.BATCH and len(batches) < len(asks) / 50, batches


def _database_gone(asks: list[StartAsk]) -> list[selectors.StreamStart | None]:
    raise RuntimeError("database gone")


def test_a_lone_ask_is_read_at_once_and_a_failed_read_fails_its_asks_only(owner, monkeypatch):
    asks = _asks(owner)[:12]

    async def scenario() -> tuple[object, object]:
        alone = await reads.start_stream(asks[0])
        real = selectors.job_stream_starts
        monkeypatch.setattr(selectors, "job_stream_starts", _database_gone)
        failed = await asyncio.gather(
            *(reads.start_stream(a) for a in asks), return_exceptions=True
        )
        monkeypatch.setattr(selectors, "job_stream_starts", real)
        after = await asyncio.gather(*(reads.start_stream(a) for a in asks))
        return alone, (failed, after)

    alone, (failed, after) = asyncio.run(scenario())
    assert alone is not None and alone.last_seq >= 1
    assert all(isinstance(error, RuntimeError) for error in failed)
    assert after == _expected(asks)


def test_an_ask_whose_client_left_is_skipped_and_the_others_answered(owner):
    asks = _asks(owner)[:40]

    async def scenario() -> list[object]:
        tasks = [asyncio.ensure_future(reads.start_stream(a)) for a in asks]
        await asyncio.sleep(0)  # all queued; the first read is in flight
        for task in tasks[10:20]:
            task.cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    got = asyncio.run(scenario())
    assert all(isinstance(g, asyncio.CancelledError) for g in got[10:20])
    assert got[:10] + got[20:] == _expected(asks[:10] + asks[20:])
