"""Caps on open streams: per client, keyed on the user or session, and per process."""

import asyncio

import httpx
import pytest

from jobs import services
from tests.support.metrics import wait_for_streams
from tests.support.servers import closing_connection
from tests.support.sse import read_stream

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_a_stream_closed_before_it_started_gives_back_its_slot_and_subscription(owner):
    """The view takes a slot and subscribes before the response exists; if the client leaves
    before the first byte, Django closes the response (from a sync thread) without ever
    starting the stream: both must come back all the same."""
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import AnonymousUser
    from django.test import AsyncRequestFactory

    from jobs.access import ANON_OWNER_KEY
    from jobs.views.stream import job_events
    from realtime.hub import get_hub
    from realtime.limits import SLOTS

    job = services.job_create(
        owner=None, params={"name": "Left Coin", "template": "token"}, anon_owner="left-early"
    )

    async def scenario() -> tuple[int, int, int, int]:
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore()
        session[ANON_OWNER_KEY] = "left-early"
        await session.asave()
        request = AsyncRequestFactory().get(f"/api/jobs/{job.pk}/events")
        request.session = session
        request.user = AnonymousUser()
        before = SLOTS.total
        response = await job_events(request, job_id=job.pk)
        during = SLOTS.total, len(get_hub()._channels.get(job.channel, ()))
        await sync_to_async(response.close)()  # as Django's handler does, never iterated
        await asyncio.sleep(0.05)  # the hand-back runs on the loop
        return before, *during, len(get_hub()._channels.get(job.channel, ()))

    before, slots_during, subs_during, subs_after = asyncio.run(scenario())
    assert (slots_during, subs_during) == (before + 1, 1)
    assert SLOTS.total == before
    assert subs_after == 0


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


def test_the_process_cap_follows_the_descriptor_limit_and_refuses_with_busy_not_500(
    server_env, artifacts_dir, processes, owner, session_cookies
):
    """Under `ulimit -n 128` the cap is 128 - 64 = 64 streams whatever the setting says;
    the 65th and later get the `busy` stream, and nothing answers 500."""
    from realtime.limits import descriptor_cap
    from tests.support.servers import free_port, python_command, serve

    assert descriptor_cap(128) == 64 and descriptor_cap(65_536) == 65_536 - 6_553
    port = free_port()
    command = " ".join(
        python_command(
            "-m",
            "uvicorn",
            "composer_realtime.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "2",
        )
    )
    env = server_env(
        "composer-fds",
        REALTIME_MAX_STREAMS_PER_CLIENT="0",
        REALTIME_MAX_STREAMS_PER_ADDRESS="0",
        DATABASE_POOL_SIZE="4",
        LOG_LEVEL="INFO",
    )
    web = serve(
        "web-fds",
        ["bash", "-c", f"ulimit -n 128 && exec {command}"],
        env,
        port,
        artifacts_dir / "web-fds.log",
        processes,
    )
    job = services.job_create(owner=owner, params={"name": "Fd Coin", "template": "token"})
    url = f"{web.url}/api/jobs/{job.pk}/events"
    cookies = session_cookies(owner)

    async def scenario() -> list[object]:
        limits = httpx.Limits(max_connections=80, max_keepalive_connections=0)
        async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=20) as client:
            held = [asyncio.create_task(read_stream(client, url, timeout=20)) for _ in range(64)]
            await asyncio.sleep(3.0)
            refused = [await read_stream(client, url, timeout=10) for _ in range(6)]
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=job)
            return [*await asyncio.gather(*held), *refused]

    results = asyncio.run(scenario())
    assert {r.status for r in results} == {200}
    busy = [r for r in results if [e.event for e in r.events] == ["busy"]]
    served = [r for r in results if r not in busy and [e.seq for e in r.events] == [1, 2]]
    assert (len(served), len(busy)) == (64, 6)
    assert "streams: at most 64 in this process" in web.proc.log()
