"""The pub/sub links' ping and its deadline (realtime/broker/liveness.py), on a real loop.

The connection is stood in for by the two things the heartbeat touches: a ping it sends, and
the replies its reader reports. The links' tests (test_link.py, test_cluster_link.py) run it
against real Redis behind a silent path.
"""

import asyncio
import time

import pytest

from realtime.broker.liveness import Health, Heartbeat, LinkSilent

HEALTH = Health(interval_s=0.05, timeout_s=0.2)


def test_a_ping_that_is_answered_keeps_the_heartbeat_going():
    async def scenario() -> int:
        pings = 0

        async def ping() -> None:
            nonlocal pings
            pings += 1
            asyncio.get_running_loop().call_later(0.01, beat.heard)  # the reply

        beat = Heartbeat(HEALTH, ping)
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(1.0)
        assert not task.done(), task
        task.cancel()
        return pings

    assert asyncio.run(scenario()) >= 10  # one every interval_s


def test_a_ping_left_unanswered_ends_the_heartbeat_after_the_timeout():
    async def scenario() -> float:
        async def ping() -> None:
            return None  # sent; nothing ever comes back

        beat = Heartbeat(HEALTH, ping)
        started = time.monotonic()
        with pytest.raises(LinkSilent, match="unanswered"):
            await asyncio.wait_for(beat.run(), timeout=5)
        return time.monotonic() - started

    assert HEALTH.timeout_s <= asyncio.run(scenario()) < 5


def test_a_path_that_answers_until_it_stops_is_found_silent():
    async def scenario() -> None:
        answering = True

        async def ping() -> None:
            if answering:
                asyncio.get_running_loop().call_later(0.01, beat.heard)

        beat = Heartbeat(HEALTH, ping)
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(0.5)
        assert not task.done()
        answering = False
        with pytest.raises(LinkSilent):
            await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())


def test_a_ping_that_cannot_even_be_sent_counts_as_silence():
    async def scenario() -> None:
        async def ping() -> None:
            await asyncio.sleep(60)  # a write stuck on a full socket buffer

        with pytest.raises(LinkSilent, match="could not be sent"):
            await asyncio.wait_for(Heartbeat(HEALTH, ping).run(), timeout=5)

    asyncio.run(scenario())


def test_a_first_answer_must_come_within_the_timeout():
    async def scenario() -> None:
        async def ask() -> None:
            return None

        async def never() -> None:
            await asyncio.sleep(60)

        await HEALTH.first_answer(ask, ask)
        with pytest.raises(LinkSilent, match="first ping"):
            await HEALTH.first_answer(ask, never)

    asyncio.run(scenario())
