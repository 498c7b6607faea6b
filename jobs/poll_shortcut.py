"""Unchanged polls answered in front of Django: the 304 shortcut of the status endpoint.

The common poll of the fallback client changes nothing: it offers the ETag of its last answer
and gets a 304 without a body. Through Django that is a whole request (middleware, URL
resolution, a sync thread, one query). `NotModifiedShortcut` wraps the ASGI application and
answers such a poll itself, with no query and no thread, when this process already knows the
answer, that is when, within the last `REALTIME_POLL_SHORTCUT_S` seconds:

- Django answered this job's status to this viewer (the session's viewer, as
  `jobs.access.VIEWERS` remembers it), so the job exists and the viewer may see it;
- the hub was watching the job's channel, its subscription confirmed, before the database read
  behind that answer, and the Redis link has not been lost since (`Hub.confirmed_epoch`): every
  event committed after that read has reached the hub, so the hub's newest seq for the job is
  the job's `last_seq`, and the ETag the view would compute is known;
- Django has answered a 304 for the same Host (and proxy scheme header): its headers, learned
  from that answer with the ETag left out, are the ones this answer sends. Middleware and
  settings stay the single source: a host Django refuses, a request it redirects to HTTPS or an
  answer that sets a cookie never teaches anything.

Everything else goes to Django untouched: a poll with an Authorization header (an API token
says who is asking, whatever cookie comes along), a first poll, a changed answer (200), an
unknown session, Redis down, a rate limit reached, a malformed request, any doubt. Each job
seen here is re-read through Django at least every `REALTIME_POLL_SHORTCUT_S` seconds, which
bounds what a lost publish, a deleted job or a revoked access can leave stale.
"""

import asyncio
import inspect
import random
import time
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http.cookie import parse_cookie
from django.urls import reverse

from jobs.access import VIEWERS, Identity
from jobs.cursor import TooManyFields, poll_cursor
from jobs.models import job_channel
from jobs.polls import FALLBACK_HEADER, etag_of, offers, parse_etag
from realtime.api import ASGIApp, Hub, Receive, Scope, Send, ahit, get_hub, poll_answered

Headers = list[tuple[bytes, bytes]]

MAX_JOBS = 10_000
"""Jobs known per process at most; past it, polls of other jobs simply go to Django."""
IDLE_S = 60.0
"""A job nobody polled for this long is forgotten and its channel no longer watched."""
_SWEEP_EVERY_S = 5.0
_MAX_HOSTS = 64


@dataclass(slots=True)
class Poll:
    """What an unchanged poll is made of, read from the ASGI scope."""

    job_id: str
    since: int
    offered: str
    session_key: str
    origin: tuple[bytes, bytes]
    fallback: bool


@dataclass(slots=True, kw_only=True)
class KnownJob:
    """What this process learned of one job from Django's answers."""

    channel: str
    viewers: dict[Identity, float] = field(default_factory=dict)
    """Who Django showed the job to, and until when that is trusted (monotonic)."""
    trusted_epoch: int | None = None
    """The hub epoch in which the job's last seq was read after the watch was confirmed."""
    trusted_until: float = 0.0
    refresh_at: float = 0.0
    """From then on, one poll at a time goes to Django to renew the trust before it ends."""
    refreshing: bool = False
    used_at: float = 0.0
    watching: bool = False


class NotModifiedShortcut:
    """Answer unchanged status polls without Django when the answer is known (see module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The status URL's, resolved on the first request: resolving URLs at import time
        # made every open stream larger (docs/performance.md, "Figures behind the code").
        self._prefix = self._suffix = ""
        self._jobs: dict[str, KnownJob] = {}
        self._headers: dict[tuple[bytes, bytes], Headers] = {}
        self._next_sweep = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @inspect.markcoroutinefunction
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: any other request gets the application's own coroutine, and
        # an open stream keeps no frame of this wrapper.
        poll = self._parse(scope) if scope["type"] == "http" else None
        if poll is None:
            return self.app(scope, receive, send)
        return self._serve(poll, scope, receive, send)

    async def _serve(self, poll: Poll, scope: Scope, receive: Receive, send: Send) -> None:
        hub = get_hub()
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(hub, now)
        known = self._jobs.get(poll.job_id)
        if known is not None:
            known.used_at = now
            if await self._answered(poll, known, hub, now, send):
                return
        await self._through_django(poll, known, hub, scope, receive, send)

    def _parse(self, scope: Scope) -> Poll | None:
        """Return the poll if the request is a conditional GET of a status, else None."""
        path: str = scope["path"]
        if not self._prefix:
            probe = "00000000-0000-0000-0000-000000000000"
            self._prefix, self._suffix = reverse("jobs:status", args=[probe]).split(probe)
        if (
            scope["method"] != "GET"
            or not path.startswith(self._prefix)
            or not path.endswith(self._suffix)
            or scope.get("root_path")
            or settings.FORCE_SCRIPT_NAME
            or settings.DISALLOWED_USER_AGENTS
            or settings.REALTIME_POLL_SHORTCUT_S <= 0
        ):
            return None
        job_id = path[len(self._prefix) : len(path) - len(self._suffix)]
        if not _is_canonical_uuid(job_id):
            return None
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _READ and name in found:
                return None  # repeated: leave the joining rules to Django
            found[name] = value
        if b"authorization" in found:
            return None  # a token says who is asking, not the cookie: Django checks it
        host = found.get(b"host")
        cookies = found.get(b"cookie")
        offered = found.get(b"if-none-match")
        if host is None or cookies is None or offered is None:
            return None
        try:
            since = poll_cursor(scope.get("query_string", b"").decode("latin-1"))
        except TooManyFields:
            return None  # Django answers the 400
        session_key = parse_cookie(cookies.decode("latin-1")).get(settings.SESSION_COOKIE_NAME, "")
        proto = found.get(_proxy_header(), b"") if settings.SECURE_PROXY_SSL_HEADER else b""
        return Poll(
            job_id=job_id,
            since=since,
            offered=offered.decode("latin-1"),
            session_key=session_key,
            origin=(host, proto),
            fallback=_FALLBACK in found,
        )

    async def _answered(
        self, poll: Poll, known: KnownJob, hub: Hub, now: float, send: Send
    ) -> bool:
        """Send a 304 when the answer is known and unchanged; return False to go to Django."""
        viewer = VIEWERS.get(poll.session_key) if poll.session_key else None
        headers = self._headers.get(poll.origin)
        if (
            viewer is None
            or headers is None
            or known.trusted_until <= now
            or known.viewers.get(viewer, 0.0) <= now
            or hub.confirmed_epoch(known.channel) != known.trusted_epoch
        ):
            return False
        if now >= known.refresh_at and not known.refreshing:
            return False  # this one renews the trust; the others meanwhile need not wait
        head = hub.head(known.channel)
        tag = etag_of(poll.job_id, head or 0, poll.since)
        if head is None or not offers(poll.offered, tag):
            return False
        verdict = await ahit(scope="poll", key=viewer.key, limit=settings.REALTIME_POLL_RATE)
        if not verdict.allowed:
            return False  # Django answers the 429 (and counts this hit once more)
        poll_answered(client=viewer.key, fallback=poll.fallback, not_modified=True, shortcut=True)
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [*headers, (b"etag", tag.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True

    async def _through_django(
        self,
        poll: Poll,
        known: KnownJob | None,
        hub: Hub,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Let Django answer, and learn from its answer."""
        # Taken before Django reads the database: the read then sees every event the
        # watch may have missed.
        epoch = hub.confirmed_epoch(known.channel) if known is not None else None
        if known is not None:
            known.refreshing = True
        answer: dict[str, Any] = {}

        async def learning_send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = list(message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, learning_send)
        finally:
            if known is not None:
                known.refreshing = False
        if answer.get("status") in (200, 304):
            self._learn(poll, answer["status"], answer["headers"], epoch, hub)

    def _learn(
        self, poll: Poll, status: int, headers: Headers, epoch: int | None, hub: Hub
    ) -> None:
        tags = [value for name, value in headers if name.lower() == b"etag"]
        parsed = parse_etag(tags[0].decode("latin-1")) if len(tags) == 1 else None
        viewer = VIEWERS.get(poll.session_key) if poll.session_key else None
        if parsed is None or parsed[0] != poll.job_id or viewer is None:
            return
        if any(name.lower() == b"set-cookie" for name, _ in headers):
            return  # an answer that changes the client's state is Django's to give
        now = time.monotonic()
        known = self._jobs.get(poll.job_id)
        if known is None:
            if len(self._jobs) >= MAX_JOBS:
                return
            known = self._jobs[poll.job_id] = KnownJob(
                channel=job_channel(poll.job_id), used_at=now
            )
        trust_s = settings.REALTIME_POLL_SHORTCUT_S
        known.viewers[viewer] = now + trust_s
        if status == 304 and (poll.origin in self._headers or len(self._headers) < _MAX_HOSTS):
            self._headers[poll.origin] = [(n, v) for n, v in headers if n.lower() != b"etag"]
        if epoch is not None and hub.confirmed_epoch(known.channel) == epoch:
            hub.settle(known.channel, parsed[1])
            known.trusted_epoch, known.trusted_until = epoch, now + trust_s
            # Renewed somewhere in the second half, at random: jobs learned together (after a
            # restart) must not all come back to Django at the same moment.
            known.refresh_at = now + trust_s * random.uniform(0.5, 0.9)  # noqa: S311
        if not known.watching:
            known.watching = True
            task = asyncio.create_task(hub.watch(known.channel))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _sweep(self, hub: Hub, now: float) -> None:
        """Forget the jobs nobody polled lately, and the viewers whose trust ran out."""
        self._next_sweep = now + _SWEEP_EVERY_S
        for job_id, known in list(self._jobs.items()):
            if known.used_at + IDLE_S <= now:
                del self._jobs[job_id]
                if known.watching:
                    hub.unwatch(known.channel)
                continue
            for viewer in [v for v, until in known.viewers.items() if until <= now]:
                del known.viewers[viewer]


_FALLBACK = FALLBACK_HEADER.lower().encode()
_READ = frozenset({b"host", b"cookie", b"if-none-match", b"authorization", _FALLBACK})


def _proxy_header() -> bytes:
    meta_name: str = settings.SECURE_PROXY_SSL_HEADER[0]
    return meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()


def _is_canonical_uuid(text: str) -> bool:
    """Return True for the lowercase hyphenated form Django's `uuid` converter accepts."""
    if len(text) != 36:
        return False
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
