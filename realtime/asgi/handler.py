"""Django's ASGI handler with a few shared sync threads instead of one per request.

Stock Django enters `ThreadSensitiveContext()` per request, and the first thread-sensitive
hop (a signal, a session read, the ORM) gets a thread of its own that lives as long as the
request: 10,000 open streams would hold 10,000 idle threads. Here each request is handed one
of K single-thread executors, round robin (asgiref >= 3.13), so sync work still runs on a
stable thread per request but threads no longer grow with open streams.

The middleware chain is Django's, built from MIDDLEWARE, except that each stock middleware
with an equivalent in `realtime.asgi.middleware` is served by that equivalent, which runs
its hooks on the event loop instead of hopping to a thread twice per request.

A streaming response's task lives as long as its stream, so whatever its frames hold is held
once per open stream: `handle` and `send_response` are Django's, minus what they would keep
for nothing (a class made per request, the encoded response headers), and a view whose stream
needs nothing of the request once the middleware has answered says so (`detach_request`): its
request is then emptied instead of being kept, with its session, user, messages and headers,
for as long as the stream, and so are its body file and, once sent, the response's headers.
The client's disconnect is watched by one task on `receive` (`_DisconnectWatch`), not Django's
task group around a watcher coroutine, or by no task at all when the server cancels the
request's task itself once its client is gone (scope extension CANCELS_ON_DISCONNECT, which
the production HTTP protocol offers). A detached stream's scope is cut down to what the server
still reads once the response has started.

A request body is bounded before it is read: a Content-Length above REALTIME_MAX_BODY_BYTES,
or a body (chunked, or lying about its length) that grows past it while being read, is
answered 413 at once, before Django spools it to memory or disk (Django's own upload limits
only apply once the whole body sits in its temporary file, and its CSRF check only after);
a body still incomplete after REALTIME_BODY_TIMEOUT_S is answered 408.
"""

import asyncio
import contextvars
import gc
import inspect
import itertools
import json
import logging
import tempfile
import types
from collections.abc import Awaitable, Collection, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from http.cookies import SimpleCookie
from io import BytesIO
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpRequest
from django.http.response import HttpResponseBase, ResponseHeaders, StreamingHttpResponse
from django.urls import set_script_prefix

from realtime import capacity, metrics
from realtime.asgi import middleware, shutdown
from realtime.asgi.types import (
    CANCELS_ON_DISCONNECT,
    DisconnectWatch,
    Receive,
    Scope,
    Send,
    ServerDisconnectWatch,
)

logger = logging.getLogger(__name__)


class SharedThreadsASGIHandler(ASGIHandler):
    """Serve every request with one of `threads` shared single-thread executors, except
    those to the `own_thread` paths, which each get a thread of their own.

    A request's sync work (a sync view, the close of its response) waits behind whatever its
    shared thread is doing: while the database hangs, the requests waiting on it. Its
    `request_started` is sent there too, but not waited for: a view that runs no sync code
    (a stream) answers whatever its thread does. A probe that must answer within its
    deadline whatever hangs (/readyz) is given its own thread.
    """

    def __init__(self, *, threads: int, own_thread: Collection[str] = ()) -> None:
        super().__init__()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-sync-{i}")
            for i in range(threads)
        ]
        self._next = itertools.cycle(self._executors)
        self._own = {
            path: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"django-sync{path}")
            for path in own_thread
        }

    def _executor_for(self, scope: Scope) -> ThreadPoolExecutor:
        return self._own.get(scope["path"]) or next(self._next)

    def load_middleware(self, is_async: bool = False) -> None:
        """Build Django's chain from MIDDLEWARE, with the loop-friendly equivalents."""
        # Django reads the list from settings; the setting itself keeps the stock names that
        # Django's deploy checks look for. Only at startup, before any request.
        stock = settings.MIDDLEWARE
        settings.MIDDLEWARE = middleware.equivalents(stock)
        try:
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = stock

    @inspect.markcoroutinefunction  # servers and asgiref tell ASGI 3 from 2 by this
    def __call__(  # type: ignore[override]
        self, scope: dict[str, Any], receive: Any, send: Any
    ) -> Awaitable[None]:
        # Not a coroutine itself: an open stream keeps no frame of it, only `handle`'s.
        if scope["type"] == "lifespan":
            return _lifespan(receive, send)
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        return self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one request: Django 6.1's `handle`, on one of the shared sync threads, each
        send with a time limit (`BoundedSend`), the disconnect watched by the server or a bare
        task on `receive` rather than a task group and a watcher coroutine (both held per open
        stream), a detached stream's request, body and context let go before it streams, and
        a body over REALTIME_MAX_BODY_BYTES refused before it is read. One coroutine: each
        frame around it would be held once per open stream.

        The request's thread (`ThreadSensitiveContext` on one of the shared executors) is
        entered where sync code may run: by the view's task around Django, and here around
        sending and closing a response that is not a detached stream. A detached stream never
        enters it here: what asgiref keeps per entered context (a weak reference, a Local's
        storage, the context's own entries) would otherwise live as long as the stream."""
        executor = self._executor_for(scope)
        send = BoundedSend(send, settings.REALTIME_SEND_TIMEOUT_S)
        limit = settings.REALTIME_MAX_BODY_BYTES
        try:
            if _declared_length(scope) > limit:
                raise BodyTooLarge
            body_file = await self.read_body_within(receive, limit)
        except RequestAborted:
            return
        except BodyTooLarge:
            await _refuse(send, 413, f"The request body is larger than {limit} bytes.")
            return
        except TimeoutError:
            await _refuse(send, 408, "The request body took too long to arrive.")
            return
        response: HttpResponseBase | None = None
        detached = False
        watch = _watch_disconnect(scope, receive)
        try:
            # The view runs in a task of its own, so in a copy of this context: what Django
            # keeps in context-local storage for the request (script prefix, URLconf,
            # language, asgiref's per-request Locals) is adopted back below, except by a
            # detached stream, which needs none of it while it streams.
            answering = asyncio.ensure_future(self._answer(scope, body_file, executor))
            request, response = await answering
            detached = request is not None and getattr(response, _DETACHED, False)
            if detached:
                assert request is not None
                _let_go(request, response)
                body_file.close()
                body_file = _NO_BODY  # the frame lives as long as the stream
            else:
                _adopt(answering.get_context())
            del answering, request
            if detached:
                await self.send_response(response, send, scope=scope)
            else:
                async with ThreadSensitiveContext(executor=executor):
                    await self.send_response(response, send)
        except asyncio.CancelledError:
            if not watch.aborted():
                raise
        except RequestAborted:
            pass
        finally:
            watch.stop()
            body_file.close()
        if detached:
            await sync_to_async(response.close)()  # type: ignore[union-attr]
            return
        async with ThreadSensitiveContext(executor=executor):
            if response is None:
                await signals.request_finished.asend(sender=self.__class__)
            else:
                await sync_to_async(response.close)()

    async def _answer(
        self, scope: dict[str, Any], body_file: Any, executor: ThreadPoolExecutor
    ) -> tuple[HttpRequest | None, HttpResponseBase]:
        """Return the request and the response to it (or None and the error response),
        Django's sync code on `executor`."""
        async with ThreadSensitiveContext(executor=executor):
            set_script_prefix(get_script_prefix(scope))
            _send_request_started(executor, self.__class__, scope)
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                assert error_response is not None
                body_file.close()
                return None, error_response
            return request, await self.run_get_response(request)

    async def read_body_within(self, receive: Receive, limit: int) -> Any:
        """Return the body as Django's `read_body` does; raise BodyTooLarge past `limit`
        bytes and TimeoutError when it takes longer than REALTIME_BODY_TIMEOUT_S."""
        body_file = tempfile.SpooledTemporaryFile(
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        try:
            async with asyncio.timeout(settings.REALTIME_BODY_TIMEOUT_S):
                await _fill(body_file, receive, limit)
        except BaseException:
            body_file.close()
            raise
        body_file.seek(0)
        return body_file

    async def send_response(
        self, response: HttpResponseBase, send: Any, *, scope: dict[str, Any] | None = None
    ) -> None:
        """Send a response: Django 6.1's way, but a stream keeps no copy of its headers, and
        a 204 carries no Content-Length (RFC 9110 §8.6; CommonMiddleware adds one). The
        `scope` of a detached stream is cut down to what the server reads while a response
        streams, once its start is sent."""
        if response.status_code == 204:
            del response["Content-Length"]
        if not isinstance(response, StreamingHttpResponse):
            await super().send_response(response, send)
            return
        await send(_start_message(response))
        if getattr(response, _DETACHED, False):
            # Sent, and read by nothing after: not held, with the security headers' values
            # built for this response, for as long as the stream (one empty pair for all).
            response.headers, response.cookies = _SENT_HEADERS, _SENT_COOKIES
        if scope is not None:
            _streaming_scope(scope)
        content = aiter(response)
        try:  # not `aclosing`: one object fewer held per open stream
            async for part in content:
                if 0 < len(part) <= self.chunk_size:  # an event: one write, no chunking generator
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                    continue
                for chunk, _ in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await content.aclose()  # type: ignore[attr-defined]  # an async generator
        await send({"type": "http.response.body"})


class BodyTooLarge(Exception):
    """The request body is, or says it is, larger than REALTIME_MAX_BODY_BYTES."""


def _send_request_started(executor: ThreadPoolExecutor, sender: type, scope: Scope) -> None:
    """Send `request_started` on the request's thread without waiting for its receivers.

    They touch only that thread's state (Django's reset its query log and close its obsolete
    database connections; ours starts this process's presence reporter once), and every sync
    step of the request runs on the same one-thread executor, after them. Awaiting them, as
    Django's `asend` does (a `SyncToAsync` built and run per request), was a fifth of the CPU
    of a stream's open (bench `--profile`), for a stream that never runs sync code on that
    thread. A receiver that raises is logged; the request goes on.
    """
    context = contextvars.copy_context()
    sent = executor.submit(context.run, signals.request_started.send, sender=sender, scope=scope)
    sent.add_done_callback(_log_if_failed)


def _log_if_failed(future: Future[Any]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        logger.error("a request_started receiver failed", exc_info=error)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0  # a malformed one: the server's 400
    return 0


async def _fill(body_file: Any, receive: Receive, limit: int) -> None:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestAborted
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if chunk:
            await _write(body_file, chunk)
        if not message.get("more_body", False):
            return


async def _write(body_file: Any, chunk: bytes) -> None:
    if getattr(body_file, "_rolled", False):  # on disk: the write may block
        await sync_to_async(body_file.write, thread_sensitive=False)(chunk)
    else:
        body_file.write(chunk)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"errors": {"__all__": [message]}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_DETACHED = "_composer_detached"
_KEPT = frozenset({"_files", "method", "path"})  # what request.close() and a repr read


def detach_request(response: StreamingHttpResponse) -> StreamingHttpResponse:
    """Mark `response` as a stream whose content needs nothing of the request, and whose
    headers nothing reads once sent: the handler then lets the request go once the middleware
    has answered, and the headers once they are on the wire (under this handler only)."""
    setattr(response, _DETACHED, True)
    return response


def _adopt(context: contextvars.Context) -> None:
    """Make the context variables `context` set this task's own (as `sync_to_async` does)."""
    for variable, value in context.items():
        if variable.get(_UNSET) is not value:
            variable.set(value)


_UNSET = object()


_SENT_HEADERS = ResponseHeaders({})
_SENT_COOKIES = SimpleCookie()
"""What a detached stream's response holds of its headers and cookies once they are sent:
nothing, shared (nothing writes to a response whose head is on the wire)."""


STREAMING_SCOPE_KEYS = frozenset({"type", "method"})
"""What a server reads of a request's scope once the response has started: uvicorn looks at
the method for every body message (a HEAD gets none); its access log, the start's only other
reader, has been written by then."""


def _streaming_scope(scope: dict[str, Any]) -> None:
    """Cut a detached stream's scope down to STREAMING_SCOPE_KEYS: the server keeps the scope
    (paths, addresses, headers, its `asgi` and `state` dicts) for the whole connection."""
    headers = scope.get("headers")
    if isinstance(headers, list):
        headers.clear()  # uvicorn's protocol holds this list too, until the next request
    kept = {key: scope[key] for key in STREAMING_SCOPE_KEYS if key in scope}
    scope.clear()  # the same dict, which the server holds: not a smaller copy
    scope.update(kept)


def _let_go(request: HttpRequest, response: HttpResponseBase) -> None:
    """Close a detached stream's request now, rather than when its response closes (Django
    hands the response `request.close`, which would keep the request for the whole stream),
    and empty it of what anything else might still keep it with."""
    request.close()
    closers = response._resource_closers  # type: ignore[attr-defined]
    if request.close in closers:
        closers.remove(request.close)
    for name in request.__dict__.keys() - _KEPT:
        del request.__dict__[name]


_NO_BODY = BytesIO()
_NO_BODY.close()


def _watch_disconnect(scope: Scope, receive: Receive) -> DisconnectWatch:
    """Return what cancels this task when the client disconnects: the server, where it offers
    to (CANCELS_ON_DISCONNECT), else a task of our own on `receive`."""
    server: ServerDisconnectWatch | None = scope.get("extensions", {}).get(CANCELS_ON_DISCONNECT)
    if server is None:
        return _DisconnectWatch(receive)
    task = asyncio.current_task()
    assert task is not None
    server.adopt(task)
    return server


class _DisconnectWatch:
    """Cancel the current task when the client disconnects (what Django's handler does with
    a task group and `listen_for_disconnect`, in one task on `receive` and this object).

    Whatever else `receive` answers after the body is a protocol error, raised as Django's
    handler raises it, in place of the request's work.
    """

    __slots__ = ("_cancelled", "_listener", "_task")

    def __init__(self, receive: Any) -> None:
        self._task = asyncio.current_task()
        self._cancelled = False
        self._listener: asyncio.Future[Any] = asyncio.ensure_future(receive())
        self._listener.add_done_callback(self)

    def __call__(self, listener: "asyncio.Future[Any]") -> None:
        if listener.cancelled() or self._task is None:
            return
        self._cancelled = True
        self._task.cancel()

    def aborted(self) -> bool:
        """Return True when the cancellation came from here (and take it back), after
        raising what `receive` raised or answered instead of a disconnect."""
        if not self._cancelled:
            return False
        assert self._task is not None
        if self._task.uncancel() > 0:  # cancelled from elsewhere too (a shutdown): go on
            return False
        error = self._listener.exception()
        if error is not None:
            raise error
        message = self._listener.result()
        if message["type"] != "http.disconnect":
            raise AssertionError(f"Invalid ASGI message after request body: {message['type']}")
        return True

    def stop(self) -> None:
        """Stop listening (the request is over); a callback already scheduled does nothing."""
        self._task = None
        self._listener.remove_done_callback(self)
        self._listener.cancel()


def _start_message(response: HttpResponseBase) -> dict[str, Any]:
    """Return the `http.response.start` message of `response` (headers as Django sends them)."""
    headers = [(_bytes(name, "ascii"), _bytes(value, "latin1")) for name, value in response.items()]
    headers.extend(
        (b"Set-Cookie", cookie.OutputString().encode("ascii"))
        for cookie in response.cookies.values()
    )
    return {"type": "http.response.start", "status": response.status_code, "headers": headers}


def _bytes(value: str | bytes, encoding: str) -> bytes:
    return value.encode(encoding) if isinstance(value, str) else bytes(value)


class SlowClientAborted(RequestAborted):
    """The client stopped reading: its stream is dropped as if it had disconnected.

    A subclass of RequestAborted so Django's handler treats it as a disconnect and still
    closes the response (which releases the stream's slot and subscription).
    """


class BoundedSend:
    """The server's `send` with a time limit: a client that does not read cannot pin a stream.

    Almost every send hands its bytes to the kernel at once and never waits, so the limit is
    armed only once a send must wait (the client's socket is full): the send is stepped once
    by hand and, if it stopped to wait, finished under `asyncio.timeout`. A timer made and
    cancelled for every write was an eighth of the CPU of a fan-out (docs/performance.md).
    A small object rather than a closure: one is held per open stream.
    """

    __slots__ = ("_send", "_timeout_s")

    def __init__(self, send: Send, timeout_s: float) -> None:
        self._send = send
        self._timeout_s = timeout_s

    async def __call__(self, message: Mapping[str, Any]) -> None:
        steps = self._send(message).__await__()
        try:
            waiting_on = next(steps)
        except StopIteration:
            return  # sent without waiting
        try:
            async with asyncio.timeout(self._timeout_s):
                await _resume(steps, waiting_on)
        except TimeoutError:
            metrics.SLOW_CLIENTS_DROPPED.inc()
            raise SlowClientAborted(f"client read nothing for {self._timeout_s}s") from None


@types.coroutine
def _resume(steps: Iterator[Any], waiting_on: Any) -> Generator[Any, Any, None]:
    """Go on with an awaitable stepped by hand, from the wait it stopped at: what `await`
    does from its second step on (PEP 380's `yield from`, for any iterator `__await__` gives:
    a server's own awaitable may be no generator, as granian's is not)."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            close = getattr(steps, "close", None)
            if close is not None:
                close()
            raise
        except BaseException as thrown:  # a cancellation, above all: the awaitable handles it
            throw = getattr(steps, "throw", None)
            if throw is None:
                raise
            try:
                waiting_on = throw(thrown)
            except StopIteration:
                return
        else:
            try:
                waiting_on = next(steps) if sent is None else steps.send(sent)  # type: ignore[attr-defined]
            except StopIteration:
                return


GC_THRESHOLDS = (10_000, 10, 10)
"""Allocations between young collections (Python's default is 700).

Every open stream keeps a hundred or so objects alive; with the default, opening thousands of
streams ran hundreds of collections that kept walking them, a good part of what an open cost
(docs/performance.md, "Figures behind the code").
"""


def tune_gc() -> None:
    """Fit the garbage collector to a server that holds thousands of long-lived streams.

    Freeze what start-up made (modules, settings, URLconf: never garbage) so that no collection
    walks it again, and collect the young generation less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _lifespan(receive: Any, send: Any) -> None:
    """Acknowledge startup and shutdown so servers need no `--lifespan off`."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            shutdown.install(asyncio.get_running_loop())
            capacity.log_process_cap()
            tune_gc()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
