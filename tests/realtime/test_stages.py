"""Where an event's time goes (realtime/stages.py): the writer's trace, and each stage observed
once a loop pass is over."""

import asyncio

import pytest

from realtime import metrics, stages
from realtime.message import Message
from realtime.stages import Trace, Write


def _count(stage: str) -> float:
    return metrics.local_value("realtime_event_stage_seconds_count", {"stage": stage})


def _sum(stage: str) -> float:
    return metrics.local_value("realtime_event_stage_seconds_sum", {"stage": stage})


def test_the_commit_is_the_write_less_its_statement_and_the_publish_what_follows():
    write = Write(began=10.0, statement_s=0.002)
    trace = stages.trace(write, handed=10.010, sent=10.013, sent_wall=1e9)
    assert trace.sent == 1e9 and trace.statement_s == 0.002
    assert trace.commit_s == pytest.approx(0.008)
    assert trace.publish_s == pytest.approx(0.003)


def test_a_commit_answered_earlier_ends_there_and_what_follows_is_publish():
    write = Write(began=10.0, statement_s=0.002, committed=10.005)
    trace = stages.trace(write, handed=10.010, sent=10.013, sent_wall=1e9)
    assert trace.commit_s == pytest.approx(0.003)
    assert trace.publish_s == pytest.approx(0.008)


def test_without_a_write_only_the_publish_is_known():
    trace = stages.trace(None, handed=1.0, sent=1.5, sent_wall=2.0)
    assert (trace.statement_s, trace.commit_s, trace.publish_s) == (None, None, 0.5)


def test_an_arrival_observes_the_writers_stages_and_redis_once_its_pass_is_over():
    names = ("statement", "commit", "publish", "redis")
    before = {name: (_count(name), _sum(name)) for name in names}
    trace = Trace(sent=100.0, statement_s=0.001, commit_s=0.002, publish_s=None)

    async def scenario() -> dict[str, float]:
        stages.observe_arrival(trace, now=100.004)
        stages.observe_arrival(trace, now=99.0)  # a writer's clock ahead of this one's
        during = {name: _count(name) - before[name][0] for name in names}
        await asyncio.sleep(0)
        return during

    assert asyncio.run(scenario()) == dict.fromkeys(names, 0)
    grew = {name: (_count(name) - before[name][0], _sum(name) - before[name][1]) for name in names}
    assert grew["statement"] == (2, pytest.approx(0.002))
    assert grew["commit"] == (2, pytest.approx(0.004))
    assert grew["publish"] == (0, 0)  # not measured: not observed
    assert grew["redis"] == (2, pytest.approx(0.004))  # the negative one counts as 0


def test_a_written_live_message_observes_its_fanout_socket_and_delivery_delay():
    before = (_count("fanout"), _count("socket"), _sum("fanout"), _sum("socket"))
    delays = metrics.local_value("realtime_delivery_delay_seconds_count")
    live = Message(id=1, event="e", data="{}", ts=1.0, received=50.0)
    from_database = Message(id=2, event="e", data="{}", ts=1.0)

    async def scenario() -> None:
        for _ in range(3):  # three streams of one process
            stages.observe_written(live, took=50.010, wrote=50.011)
        stages.observe_written(from_database, took=60.0, wrote=60.001)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    after = (_count("fanout"), _count("socket"), _sum("fanout"), _sum("socket"))
    assert after[0] - before[0] == 3 and after[1] - before[1] == 3
    assert after[2] - before[2] == pytest.approx(0.030)
    assert after[3] - before[3] == pytest.approx(0.003)
    assert metrics.local_value("realtime_delivery_delay_seconds_count") - delays == 4
