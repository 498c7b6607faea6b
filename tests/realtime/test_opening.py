"""Opening a stream for a view (realtime/opening.py), in process on the hub of the loop and
real Redis: subscribed before the start reads, one slot held while open, handed back however
the response ends, and the answers that replace a stream."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from asgiref.sync import sync_to_async
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.test import AsyncRequestFactory

from realtime.hub import get_hub
from realtime.message import Message
from realtime.opening import Opening, open_stream
from realtime.slots import SLOTS
from tests.support.hub import run_on_hub
from tests.support.sse import parse_lines


def _message(id_: int, *, final: bool = False) -> Message:
    return Message(id=id_, event="e", data=f'{{"n":{id_}}}', final=final)


async def _nothing_after(after: int) -> list[Message]:
    return []


async def _open(
    start: Callable[[], Awaitable[Opening | HttpResponseBase]],
    *,
    channel: str,
    client: str = "user:1",
    method: str = "get",
    **headers: str,
) -> HttpResponseBase:
    request = getattr(AsyncRequestFactory(), method)("/events", headers=headers)
    return await open_stream(
        request, channel=channel, client=client, start=start, replay=_nothing_after
    )


def _channel() -> str:
    return f"test:opening:{uuid.uuid4()}"


def test_the_start_reads_once_subscribed_and_its_backlog_streams_to_the_final_message():
    channel = _channel()
    seen: list[bool] = []

    async def start() -> Opening:
        seen.append(get_hub().subscribed(channel))  # published from now on: not missed
        return Opening(cursor=1, backlog=[_message(1), _message(2), _message(3, final=True)])

    async def scenario() -> tuple[bytes, int, int, bool]:
        held = SLOTS.total
        response = await _open(start, channel=channel)
        during = SLOTS.total - held
        body = b"".join([chunk async for chunk in aiter(response)])
        await sync_to_async(response.close)()  # as the server does once the stream ended
        await asyncio.sleep(0.05)  # the hand-back runs on the loop
        return body, during, SLOTS.total - held, get_hub().subscribed(channel)

    body, during, after, subscribed = run_on_hub(scenario)
    events, _, _ = parse_lines(body.decode().split("\n"))
    assert seen == [True]
    assert [e.id for e in events] == ["2", "3"], "after the cursor, up to the final one"
    assert (during, after, subscribed) == (1, 0, False)


def test_a_response_closed_before_it_streamed_gives_back_its_slot_and_subscription():
    """The client left before the first byte: Django closes the response, from a sync thread,
    without ever starting the stream; both must come back all the same."""
    channel = _channel()

    async def start() -> Opening:
        return Opening(cursor=0, backlog=[])

    async def scenario() -> tuple[int, bool, int, bool]:
        held = SLOTS.total
        response = await _open(start, channel=channel)
        during = SLOTS.total - held, get_hub().subscribed(channel)
        await sync_to_async(response.close)()  # never iterated
        await asyncio.sleep(0.05)
        return *during, SLOTS.total - held, get_hub().subscribed(channel)

    assert run_on_hub(scenario) == (1, True, 0, False)


def test_a_response_closed_after_its_loop_is_gone_still_gives_back_its_slot():
    """A sync test client's loop, or a process ending: nothing runs on the loop any more."""
    channel = _channel()

    async def start() -> Opening:
        return Opening(cursor=0, backlog=[])

    async def scenario() -> tuple[HttpResponseBase, int]:
        return await _open(start, channel=channel), SLOTS.total

    response, during = run_on_hub(scenario)
    response.close()
    assert SLOTS.total == during - 1


def test_the_starts_own_answer_replaces_the_stream_and_holds_nothing():
    channel = _channel()

    async def start() -> HttpResponseBase:
        return HttpResponse(status=204)

    async def scenario() -> tuple[int, int, bool]:
        held = SLOTS.total
        response = await _open(start, channel=channel)
        return response.status_code, SLOTS.total - held, get_hub().subscribed(channel)

    assert run_on_hub(scenario) == (204, 0, False)


def test_a_start_that_raises_leaves_nothing_subscribed():
    channel = _channel()

    async def start() -> Opening:
        raise Http404("No such thing.")

    async def scenario() -> tuple[int, bool]:
        held = SLOTS.total
        with pytest.raises(Http404):
            await _open(start, channel=channel)
        return SLOTS.total - held, get_hub().subscribed(channel)

    assert run_on_hub(scenario) == (0, False)


def test_a_client_at_its_cap_is_told_busy_with_a_spread_retry_and_holds_nothing(settings):
    settings.REALTIME_MAX_STREAMS_PER_CLIENT = 1
    channel = _channel()

    async def start() -> Opening:
        return Opening(cursor=0, backlog=[])

    async def scenario() -> tuple[HttpResponseBase, int, int]:
        held = SLOTS.total
        first = await _open(start, channel=channel, client="user:capped")
        refused = await _open(start, channel=channel, client="user:capped")
        during = SLOTS.total - held
        await sync_to_async(first.close)()
        await asyncio.sleep(0.05)
        return refused, during, SLOTS.total - held

    refused, during, after = run_on_hub(scenario)
    assert isinstance(refused, HttpResponse)
    events, _, retry = parse_lines(refused.content.decode().split("\n"))
    assert refused.status_code == 200, "a browser never retries a 503"
    assert refused["Content-Type"].startswith("text/event-stream")
    assert [e.event for e in events] == ["busy"] and events[0].id is None
    assert events[0].json["error"] == "too_many_streams"
    assert 20 <= events[0].json["retry_after_s"] <= 40
    assert retry == events[0].json["retry_after_s"] * 1000
    assert (during, after) == (1, 0)


def test_head_runs_the_start_only_and_answers_the_streams_headers():
    channel = _channel()
    started: list[bool] = []

    async def start() -> Opening:
        started.append(True)
        return Opening(cursor=0, backlog=[_message(1)])

    async def scenario() -> tuple[HttpResponseBase, int, bool]:
        held = SLOTS.total
        response = await _open(start, channel=channel, method="head")
        return response, SLOTS.total - held, get_hub().subscribed(channel)

    response, slots, subscribed = run_on_hub(scenario)
    assert started == [True]
    assert response.status_code == 200 and not response.streaming
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["X-Accel-Buffering"] == "no"
    assert (slots, subscribed) == (0, False)
