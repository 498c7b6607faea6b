"""The real-time transport's front door: everything `jobs`, `dashboard` and the project use.

The transport knows nothing of jobs: it moves `Message`s on named channels. A writer calls
`publish` after its commit; a view opens a stream with `relay` inside `event_stream_response`;
the hub of the process fans out and can `watch` a channel for callers that only need its newest
id. Metrics go through functions named for what happened (`poll_answered`, `request_refused`, ...);
an app adds its own with `counter` or computes some at scrape time (`register_collector`).
What is not named here is private to the app.
"""

from realtime.address import address_in, client_address
from realtime.asgi.handler import detach_request
from realtime.asgi.types import ASGIApp, Receive, Scope, Send
from realtime.hub import CONFIRM_TIMEOUT_S, Hub, HubState, Subscription, get_hub
from realtime.limits import SLOTS, busy_response
from realtime.message import Message
from realtime.metrics import (
    DELAY_BUCKETS,
    Collector,
    Metric,
    count_responses,
    counter,
    gauge_samples,
    poll_answered,
    poller_seen,
    register_collector,
    render_metrics,
    request_refused,
    stream_resumed,
)
from realtime.presence import ProcessFigures, presence_all
from realtime.publisher import publish
from realtime.ratelimit import Verdict, ahit, hit
from realtime.relay import Head, Replay, relay
from realtime.sse import event_stream_head, event_stream_response, no_content

__all__ = [
    "CONFIRM_TIMEOUT_S",
    "DELAY_BUCKETS",
    "SLOTS",
    "ASGIApp",
    "Collector",
    "Head",
    "Hub",
    "HubState",
    "Message",
    "Metric",
    "ProcessFigures",
    "Receive",
    "Replay",
    "Scope",
    "Send",
    "Subscription",
    "Verdict",
    "address_in",
    "ahit",
    "busy_response",
    "client_address",
    "count_responses",
    "counter",
    "detach_request",
    "event_stream_head",
    "event_stream_response",
    "gauge_samples",
    "get_hub",
    "hit",
    "no_content",
    "poll_answered",
    "poller_seen",
    "presence_all",
    "publish",
    "register_collector",
    "relay",
    "render_metrics",
    "request_refused",
    "stream_resumed",
]
