"""Open streams cost neither an OS thread nor a database connection each, and the handler
keeps Django's behaviour for other responses."""

import asyncio
import contextvars
import gc
import json
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.core.signals import request_started
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from jobs import services
from realtime import metrics
from realtime.asgi.handler import (
    BoundedSend,
    SharedThreadsASGIHandler,
    SlowClientAborted,
    detach_request,
)
from tests.support.servers import proc_threads

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS, POOL_SIZE = 200, 10


def _db_connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return int(cursor.fetchone()[0])


async def _hold(
    client: httpx.AsyncClient, url: str, want: int, seen: asyncio.Queue[int], release: asyncio.Event
) -> list[int]:
    """Read `want` events, report, then keep the stream open until released."""
    seqs: list[int] = []
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        lines = response.aiter_lines()
        while len(seqs) < want:
            line = await anext(lines)
            data = json.loads(line[6:]) if line.startswith("data: ") else {}
            if "seq" in data:  # a job event, not the stream's own ready/ping events
                seqs.append(data["seq"])
                await seen.put(seqs[-1])
        await release.wait()
    return seqs


def test_200_open_streams_hold_few_threads_and_no_more_connections_than_the_pool(
    start_web, owner, session_cookies, capsys
):
    web = start_web(
        application_name="composer-bound",
        DATABASE_POOL_SIZE=str(POOL_SIZE),
        REALTIME_MAX_STREAMS_PER_CLIENT="0",
    )  # one client, 200 streams: lift the cap
    cookies = session_cookies(owner)
    jobs = [
        services.job_create(owner=owner, params={"name": f"Coin {i}", "template": "token"})
        for i in range(STREAMS // 2)
    ]

    async def scenario() -> tuple[int, int, list[list[int]]]:
        seen: asyncio.Queue[int] = asyncio.Queue()
        release = asyncio.Event()
        limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            cookies=cookies, limits=limits, timeout=httpx.Timeout(60, connect=20)
        ) as client:
            holders = [
                asyncio.create_task(
                    _hold(client, f"{web.url}/api/jobs/{job.pk}/events", 2, seen, release)
                )
                for job in jobs
                for _ in range(2)
            ]
            async with asyncio.timeout(60):
                for _ in range(STREAMS):
                    await seen.get()  # everyone has the replayed seq 1: all streams are open
            threads = proc_threads(web.proc.pid)
            connections = await sync_to_async(_db_connections)("composer-bound")
            for job in jobs:  # live delivery to every open stream
                await sync_to_async(services.job_report_progress)(job=job, percent=50)
            async with asyncio.timeout(30):
                for _ in range(STREAMS):
                    await seen.get()
            release.set()
            results = await asyncio.gather(*holders)
            await sync_to_async(lambda: connection.close())()  # that thread's own connection
        return threads, connections, results

    threads, connections, results = asyncio.run(scenario())

    with capsys.disabled():
        print(
            f"\n{STREAMS} open streams: {threads} threads, {connections} database connections "
            f"(pool {POOL_SIZE})"
        )
    assert all(seqs == [1, 2] for seqs in results)
    assert threads <= 40
    assert connections <= POOL_SIZE


_SET_BY_VIEW: contextvars.ContextVar[str] = contextvars.ContextVar("set_by_view", default="unset")


async def _streaming_view(request: HttpRequest) -> StreamingHttpResponse:
    _SET_BY_VIEW.set("set by the view")

    async def content() -> AsyncIterator[bytes]:
        yield _SET_BY_VIEW.get().encode()

    return StreamingHttpResponse(content())


_RELEASE = threading.Event()


def _blocked_view(request: HttpRequest) -> HttpResponse:
    _RELEASE.wait(20)  # a request stuck on a database that does not answer
    return HttpResponse(threading.current_thread().name)


def _probe_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(threading.current_thread().name)


async def _async_probe_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"answered on the loop")


_STARTED_ON: list[str] = []


def _record_started(**kwargs: Any) -> None:
    _STARTED_ON.append(threading.current_thread().name)


def _fail_started(**kwargs: Any) -> None:
    raise RuntimeError("this receiver broke")


def _started_view(request: HttpRequest) -> HttpResponse:
    """Say on which threads request_started ran so far, and on which this view runs."""
    return HttpResponse(f"{','.join(_STARTED_ON)}|{threading.current_thread().name}")


_VIEW_THREAD: list[str] = []
_HELD: dict[str, Any] = {}


async def _detached_view(request: HttpRequest) -> StreamingHttpResponse:
    """A stream that needs nothing of its request: it waits until the test has looked."""
    _VIEW_THREAD.append(await sync_to_async(lambda: threading.current_thread().name)())
    _HELD["request"] = weakref.ref(request)
    looked: asyncio.Event = _HELD["looked"]

    async def content() -> AsyncIterator[bytes]:
        yield b"open"
        await looked.wait()

    response = detach_request(StreamingHttpResponse(content()))
    _HELD["response"] = weakref.ref(response)
    return response


urlpatterns = [
    path("streaming-context/", _streaming_view),
    path("blocked/", _blocked_view),
    path("probe/", _probe_view),
    path("async-probe/", _async_probe_view),
    path("started/", _started_view),
    path("detached/", _detached_view),
]


def _empty_request() -> Callable[[], Awaitable[dict[str, Any]]]:
    """Return an ASGI `receive` that gives one empty request, then waits: the client stays
    until the answer (the response ends by itself)."""
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


def test_a_stream_that_is_not_detached_sees_the_context_its_view_set(settings):
    # The view runs in a task of its own; what it set must still be seen by its content.
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=1)
    sent: list[dict[str, Any]] = []
    receive = _empty_request()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/streaming-context/",
        "raw_path": b"/streaming-context/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }

    async def scenario() -> None:
        async with asyncio.timeout(20):
            await handler(scope, receive, send)

    asyncio.run(scenario())
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"set by the view"


def _scope(path_: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }


async def _request(handler: SharedThreadsASGIHandler, path_: str) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    receive = _empty_request()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await handler(_scope(path_), receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_path_with_a_thread_of_its_own_answers_while_the_shared_thread_is_stuck(settings):
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=1, own_thread=["/probe/"])
    _RELEASE.clear()

    async def scenario() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        async with asyncio.timeout(20):
            stuck = asyncio.create_task(_request(handler, "/blocked/"))
            await asyncio.sleep(0.3)  # it holds the one shared thread now
            probed = await asyncio.wait_for(_request(handler, "/probe/"), 5)
            assert not stuck.done()
            _RELEASE.set()
            return probed, await stuck

    probed, stuck = asyncio.run(scenario())
    assert probed == (200, b"django-sync/probe/_0")
    assert stuck == (200, b"django-sync-0_0")


def test_an_async_view_answers_while_its_shared_thread_is_stuck(settings):
    # A stream's open runs no sync code on its request's thread: it must not wait for that
    # thread (stuck on a database that does not answer) to send request_started.
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=1)
    _RELEASE.clear()
    sent: list[dict[str, Any]] = []
    answered = asyncio.Event()
    receive = _empty_request()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    async def scenario() -> None:
        async with asyncio.timeout(20):
            stuck = asyncio.create_task(_request(handler, "/blocked/"))
            await asyncio.sleep(0.3)  # it holds the one shared thread now
            probe = asyncio.create_task(handler(_scope("/async-probe/"), receive, send))
            try:
                await asyncio.wait_for(answered.wait(), 5)
                assert not stuck.done()
            finally:
                _RELEASE.set()
            await stuck
            await probe  # closing the response waits for the thread: it is free again

    asyncio.run(scenario())
    assert sent[0]["status"] == 200
    assert sent[-1]["body"] == b"answered on the loop"


def test_request_started_runs_on_the_requests_thread_before_its_sync_code(settings):
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=2)
    _STARTED_ON.clear()
    request_started.connect(_record_started)
    try:
        status, body = asyncio.run(_request(handler, "/started/"))
    finally:
        request_started.disconnect(_record_started)
    started, view_thread = body.decode().split("|")
    assert status == 200
    assert started.split(",") == [view_thread], "once, on the view's thread, before it"


def test_a_failing_request_started_receiver_is_logged_and_the_request_answered(settings, caplog):
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=1)
    request_started.connect(_fail_started)
    try:
        status, _ = asyncio.run(_request(handler, "/probe/"))
    finally:
        request_started.disconnect(_fail_started)
    assert status == 200
    assert "a request_started receiver failed" in caplog.text
    assert "this receiver broke" in caplog.text


class _Socket:
    """An ASGI `send` whose socket takes its bytes at once, or must wait for `drained`."""

    def __init__(self, *, full: bool) -> None:
        self.full = full
        self.drained = asyncio.Event()
        self.sent: list[Any] = []
        self.cancelled = False

    async def __call__(self, message: Any) -> None:
        if self.full:
            try:
                await self.drained.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        self.sent.append(message)


def test_a_send_that_need_not_wait_is_not_timed_at_all(monkeypatch):
    def no_timer(delay: float) -> None:
        raise AssertionError("a timer was armed for a send that did not wait")

    monkeypatch.setattr(asyncio, "timeout", no_timer)
    socket = _Socket(full=False)
    asyncio.run(BoundedSend(socket, 5.0)({"type": "http.response.body", "body": b"x"}))
    assert socket.sent == [{"type": "http.response.body", "body": b"x"}]


def test_a_send_that_waits_finishes_within_its_limit():
    async def scenario() -> _Socket:
        socket = _Socket(full=True)
        sending = asyncio.create_task(BoundedSend(socket, 5.0)({"body": b"x"}))
        await asyncio.sleep(0.05)
        assert not sending.done()
        socket.drained.set()
        await asyncio.wait_for(sending, 5)
        return socket

    assert asyncio.run(scenario()).sent == [{"body": b"x"}]


def test_a_send_that_waits_past_its_limit_is_cancelled_and_the_client_dropped():
    before = metrics.local_value("realtime_slow_clients_dropped_total")

    async def scenario() -> _Socket:
        socket = _Socket(full=True)
        with pytest.raises(SlowClientAborted):
            await asyncio.wait_for(BoundedSend(socket, 0.1)({"body": b"x"}), 5)
        return socket

    socket = asyncio.run(scenario())
    assert socket.cancelled and socket.sent == []
    assert metrics.local_value("realtime_slow_clients_dropped_total") == before + 1


def test_a_cancelled_waiting_send_is_cancelled_where_it_waits():
    async def scenario() -> _Socket:
        socket = _Socket(full=True)
        sending = asyncio.create_task(BoundedSend(socket, 5.0)({"body": b"x"}))
        await asyncio.sleep(0.05)
        sending.cancel()  # the client left: the request's task is cancelled mid-write
        with pytest.raises(asyncio.CancelledError):
            await sending
        return socket

    socket = asyncio.run(scenario())
    assert socket.cancelled and socket.sent == []


class _PlainIterator:
    """What `__await__` may return besides a generator: an iterator with no `send` nor
    `throw` (granian's send is such an awaitable)."""

    def __init__(self, steps: Any) -> None:
        self._steps = steps

    def __iter__(self) -> "_PlainIterator":
        return self

    def __next__(self) -> Any:
        return next(self._steps)


class _PlainAwaitable:
    def __init__(self, until: asyncio.Future[None] | None) -> None:
        self._until = until

    def __await__(self) -> Any:
        return _PlainIterator(iter(()) if self._until is None else self._until.__await__())


def test_a_servers_awaitable_that_is_no_generator_is_sent_either_way():
    async def scenario() -> list[str]:
        done: list[str] = []
        await BoundedSend(lambda message: _PlainAwaitable(None), 5.0)({})  # at once
        done.append("at once")
        drained = asyncio.get_running_loop().create_future()
        sending = asyncio.create_task(
            BoundedSend(lambda message: _PlainAwaitable(drained), 5.0)({})
        )
        await asyncio.sleep(0.05)
        assert not sending.done()
        drained.set_result(None)
        await asyncio.wait_for(sending, 5)
        done.append("after a wait")
        return done

    assert asyncio.run(scenario()) == ["at once", "after a wait"]


def test_a_detached_stream_keeps_neither_its_request_nor_its_scope_nor_a_thread_context(settings):
    """What an open stream would otherwise hold for as long as it streams: the request (Django
    hands the response `request.close`), the scope the server keeps (paths, addresses, the
    header list), and asgiref's state for the request's thread. The view itself still runs
    Django's sync code on one of the shared threads."""
    settings.ROOT_URLCONF = __name__
    handler = SharedThreadsASGIHandler(threads=1)
    sent: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}
    headers = [(b"host", b"testserver"), (b"accept", b"text/event-stream")]
    scope = _scope("/detached/") | {"headers": headers}

    async def receive() -> dict[str, Any]:
        if not seen.get("requested"):
            seen["requested"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"open":  # streaming: look at what is held now
            gc.collect()
            seen["request"] = _HELD["request"]()
            response = _HELD["response"]()
            seen["closers"] = [getattr(c, "__self__", None) for c in response._resource_closers]
            seen["scope"] = dict(scope)
            seen["sensitive"] = SyncToAsync.thread_sensitive_context.get(None)
            _HELD["looked"].set()

    async def scenario() -> None:
        _HELD["looked"] = asyncio.Event()
        async with asyncio.timeout(20):
            await handler(scope, receive, send)

    asyncio.run(scenario())
    assert sent[0]["status"] == 200
    request = seen["request"]  # None once nothing holds it; emptied in any case
    assert request is None or request not in seen["closers"], "the response keeps it to close it"
    assert request is None or set(vars(request)) <= {"_files", "method", "path"}
    assert seen["scope"] == {"type": "http", "method": "GET"}
    assert headers == [], "the header list the server keeps too"
    assert seen["sensitive"] is None, "the stream holds a thread context"
    assert _VIEW_THREAD[-1].startswith("django-sync-"), _VIEW_THREAD
