"""The real-time transport's front door: everything `jobs`, `dashboard`, `api` and the project use.

The transport knows nothing of jobs: it moves `Message`s on named channels. By what callers do:

- publish: a writer calls `publish` after its commit, saying how its `Write` went;
- open a stream: a view calls `open_stream` with a start that returns an `Opening` (or its own
  answer, such as `no_content`); `busy_response` asks a stream's client to come back later;
- watch: `get_hub()` is the process's hub, which can also watch a channel for callers that only
  need its newest id (`Hub.watch`), push a message to local streams only (`Hub.publish_local`)
  and say where it learns of new messages (`Hub.settled_state`);
- count and refuse: `hit`/`ahit` rate limits; metrics through functions named for what
  happened (`poll_answered`, `request_refused`, ...); an app adds its own with `counter` or
  computes some at scrape time (`register_collector`);
- know the client: `client_address`, `address_in`;
- serve: `SharedThreadsASGIHandler` runs Django; `ASGIApp`, `Scope`, `Receive`, `Send` type an
  ASGI wrapper around it;
- share: `presence_all` reads every web process's `ProcessFigures`; `PerLoop` keeps one object
  per event loop.

What is not named here is private to the app. The server's own code that loads before Django
(the gunicorn worker class and its HTTP protocol) uses `realtime.server_api` instead.
"""

from realtime.address import address_in, client_address
from realtime.asgi.handler import SharedThreadsASGIHandler
from realtime.asgi.types import ASGIApp, Receive, Scope, Send
from realtime.hub import Hub, get_hub
from realtime.message import Message
from realtime.metrics import (
    DELAY_BUCKETS,
    Metric,
    count_responses,
    counter,
    database_down,
    database_unavailable_answered,
    gauge_samples,
    poll_answered,
    poller_seen,
    register_collector,
    render_metrics,
    request_refused,
)
from realtime.opening import Opening, busy_response, open_stream
from realtime.per_loop import PerLoop
from realtime.presence import ProcessFigures, presence_all
from realtime.publisher import publish
from realtime.ratelimit import Verdict, ahit, hit
from realtime.sse import no_content
from realtime.stages import Write

__all__ = [
    "DELAY_BUCKETS",
    "ASGIApp",
    "Hub",
    "Message",
    "Metric",
    "Opening",
    "PerLoop",
    "ProcessFigures",
    "Receive",
    "Scope",
    "Send",
    "SharedThreadsASGIHandler",
    "Verdict",
    "Write",
    "address_in",
    "ahit",
    "busy_response",
    "client_address",
    "count_responses",
    "counter",
    "database_down",
    "database_unavailable_answered",
    "gauge_samples",
    "get_hub",
    "hit",
    "no_content",
    "open_stream",
    "poll_answered",
    "poller_seen",
    "presence_all",
    "publish",
    "register_collector",
    "render_metrics",
    "request_refused",
]
