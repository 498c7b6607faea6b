"""Slots of open streams (realtime/slots.py): per client, keyed on the user or session, per
client address and per process. In process, then through a real server."""

import asyncio

import httpx
import pytest

from jobs import services
from realtime import metrics
from realtime.slots import StreamSlots
from tests.support.metrics import wait_for_streams
from tests.support.servers import closing_connection
from tests.support.sse import read_stream


def test_a_client_holds_up_to_its_cap_and_gets_its_slots_back(settings):
    settings.REALTIME_MAX_STREAMS_PER_CLIENT = 2
    slots = StreamSlots()
    assert slots.acquire("user:1") and slots.acquire("user:1")
    assert not slots.acquire("user:1"), "the third is refused"
    assert slots.acquire("user:2"), "the cap is per client"
    slots.release("user:1")
    assert slots.acquire("user:1") and slots.total == 3


def test_an_address_holds_up_to_its_cap_whichever_client_asks(settings):
    settings.REALTIME_MAX_STREAMS_PER_ADDRESS = 2
    slots = StreamSlots()
    assert slots.acquire("anon:a", "198.51.100.1") and slots.acquire("anon:b", "198.51.100.1")
    assert not slots.acquire("anon:c", "198.51.100.1")
    assert slots.acquire("anon:c", "198.51.100.2"), "another address is not capped"
    assert slots.acquire("anon:d"), "an unknown address is not capped per address"
    slots.release("anon:a", "198.51.100.1")
    assert slots.acquire("anon:c", "198.51.100.1")


def test_the_process_holds_up_to_its_cap_whoever_asks(settings):
    settings.REALTIME_MAX_STREAMS_PER_PROCESS = 2
    slots = StreamSlots()
    assert slots.acquire("user:1") and slots.acquire("user:2")
    assert not slots.acquire("user:3")
    slots.release("user:1")
    assert slots.acquire("user:3")


def test_each_busy_answer_is_counted_by_the_cap_that_was_full(settings):
    settings.REALTIME_MAX_STREAMS_PER_CLIENT = 1
    settings.REALTIME_MAX_STREAMS_PER_ADDRESS = 2
    settings.REALTIME_MAX_STREAMS_PER_PROCESS = 3

    def busy(cap: str) -> float:
        return metrics.local_value("realtime_streams_busy_total", {"cap": cap})

    before = {cap: busy(cap) for cap in ("client", "address", "process")}
    slots = StreamSlots()
    assert slots.acquire("user:1", "198.51.100.1")
    assert not slots.acquire("user:1", "198.51.100.9")
    assert slots.acquire("user:2", "198.51.100.1")
    assert not slots.acquire("user:3", "198.51.100.1")
    assert slots.acquire("user:3", "198.51.100.2")
    assert not slots.acquire("user:4", "198.51.100.3")
    found = {cap: busy(cap) - before[cap] for cap in before}
    assert found == {"client": 1, "address": 1, "process": 1}


def test_a_cap_of_zero_caps_nothing_and_giving_back_never_goes_below_zero(settings):
    settings.REALTIME_MAX_STREAMS_PER_CLIENT = 0
    settings.REALTIME_MAX_STREAMS_PER_ADDRESS = 0
    slots = StreamSlots()
    assert all(slots.acquire("user:1", "198.51.100.1") for _ in range(50))
    for _ in range(60):
        slots.release("user:1", "198.51.100.1")
    assert slots.total == 0
    assert slots.acquire("user:1") and slots.total == 1


@pytest.mark.django_db(transaction=True)
def test_a_stream_beyond_the_per_client_cap_is_told_to_retry_later(
    start_web, owner, django_user_model, session_cookies
):
    web = start_web(REALTIME_MAX_STREAMS_PER_CLIENT="2")
    other = django_user_model.objects.create_user(username="other", password="x", is_staff=True)
    job = services.job_create(owner=owner, params={"name": "Cap Coin", "template": "token"})
    url = f"{web.url}/api/jobs/{job.pk}/events"
    owner_cookies, other_cookies = session_cookies(owner), session_cookies(other)

    async def scenario() -> tuple[list, object, object]:
        async with (
            httpx.AsyncClient(cookies=owner_cookies, timeout=20) as mine,
            httpx.AsyncClient(cookies=other_cookies, timeout=20) as theirs,
        ):
            held = [asyncio.create_task(read_stream(mine, url, timeout=20)) for _ in range(2)]
            await asyncio.to_thread(wait_for_streams, web.url, 2)
            refused = await read_stream(mine, url, timeout=10)
            someone_else = asyncio.create_task(read_stream(theirs, url, timeout=20))
            await asyncio.to_thread(wait_for_streams, web.url, 3)
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=job)
            return await asyncio.gather(*held), refused, await someone_else

    held, refused, someone_else = asyncio.run(scenario())

    assert refused.status == 200, "a browser never retries a 503"
    assert [e.event for e in refused.events] == ["busy"]
    assert refused.events[0].id is None  # does not move the client's Last-Event-ID
    assert refused.retry >= 20000
    assert all([e.seq for e in r.events] == [1, 2] for r in held)
    assert [e.seq for e in someone_else.events] == [1, 2], "the cap is per client, not global"


@pytest.mark.django_db(transaction=True)
def test_a_stream_beyond_the_per_process_cap_is_told_to_retry_later_whoever_asks(
    start_web, owner, django_user_model, session_cookies
):
    web = start_web(REALTIME_MAX_STREAMS_PER_PROCESS="2")
    other = django_user_model.objects.create_user(username="other", password="x")
    mine = services.job_create(owner=owner, params={"name": "Cap Coin", "template": "token"})
    theirs = services.job_create(owner=other, params={"name": "Their Coin", "template": "token"})
    owner_cookies, other_cookies = session_cookies(owner), session_cookies(other)

    async def scenario() -> tuple[list, object, object]:
        async with (
            httpx.AsyncClient(cookies=owner_cookies, timeout=20) as me,
            httpx.AsyncClient(cookies=other_cookies, timeout=20) as them,
        ):
            url = f"{web.url}/api/jobs/{mine.pk}/events"
            held = [asyncio.create_task(read_stream(me, url, timeout=20)) for _ in range(2)]
            await asyncio.to_thread(wait_for_streams, web.url, 2)
            their_url = f"{web.url}/api/jobs/{theirs.pk}/events"
            refused = await read_stream(them, their_url, timeout=10)
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=mine)
            results = await asyncio.gather(*held)
            await asyncio.to_thread(wait_for_streams, web.url, 0)  # the slots are given back
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=theirs)
            return results, refused, await read_stream(them, their_url, timeout=10)

    held, refused, later = asyncio.run(scenario())

    assert all([e.seq for e in r.events] == [1, 2] for r in held)
    assert refused.status == 200, "a browser never retries a 503"
    assert [e.event for e in refused.events] == ["busy"], "the process is full, whoever asks"
    assert refused.events[0].json["error"] == "too_many_streams"
    assert refused.retry >= 20000
    assert [e.seq for e in later.events] == [1, 2], "slots come back when streams end"


@pytest.mark.django_db(transaction=True)
def test_a_stream_beyond_the_per_address_cap_is_busy_whatever_session_asks(
    start_web, owner, django_user_model, session_cookies
):
    """Fresh sessions are free; the address is not. Behind a trusted proxy the address is
    the one the proxy appended to X-Forwarded-For."""
    web = start_web(REALTIME_MAX_STREAMS_PER_ADDRESS="2", REALTIME_TRUSTED_PROXIES="127.0.0.1/32")
    users = [
        owner,
        *(
            django_user_model.objects.create_user(username=f"u{i}", password="x", is_staff=True)
            for i in range(2)
        ),
    ]
    job = services.job_create(owner=owner, params={"name": "Addr Coin", "template": "token"})
    url = f"{web.url}/api/jobs/{job.pk}/events"
    cookies = [session_cookies(user) for user in users]

    def from_address(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"203.0.113.77, {address}"}  # the client's own entry first

    async def scenario() -> tuple[list, object, object]:
        clients = [httpx.AsyncClient(cookies=c, timeout=20) for c in cookies]
        try:
            held = [
                asyncio.create_task(
                    read_stream(clients[i], url, timeout=20, headers=from_address("198.51.100.1"))
                )
                for i in range(2)
            ]
            await asyncio.sleep(1.0)
            refused = await read_stream(
                clients[2], url, timeout=10, headers=from_address("198.51.100.1")
            )
            elsewhere = asyncio.create_task(
                read_stream(clients[2], url, timeout=20, headers=from_address("198.51.100.2"))
            )
            await asyncio.sleep(0.5)
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=job)
            return await asyncio.gather(*held), refused, await elsewhere
        finally:
            for client in clients:
                await client.aclose()

    held, refused, elsewhere = asyncio.run(scenario())
    assert [e.event for e in refused.events] == ["busy"] and refused.status == 200
    assert all([e.seq for e in r.events] == [1, 2] for r in held)
    assert [e.seq for e in elsewhere.events] == [1, 2], "another address is not capped"
