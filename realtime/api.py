"""The real-time transport's front door: everything `jobs`, `dashboard` and the project use.

The transport knows nothing of jobs: it moves `Message`s on named channels. A writer calls
`publish` after its commit; a view opens a stream with `relay` inside `event_stream_response`;
the hub of the process fans out and can `watch` a channel for callers that only need its newest
id. What is not named here is private to the app.
"""

from realtime import metrics
from realtime.address import address_in, client_address
from realtime.asgi.handler import detach_request
from realtime.asgi.types import ASGIApp, Receive, Scope, Send
from realtime.hub import CONFIRM_TIMEOUT_S, Hub, HubState, Subscription, get_hub
from realtime.limits import SLOTS, busy_response
from realtime.message import Message
from realtime.presence import ProcessFigures, presence_all
from realtime.publisher import publish
from realtime.ratelimit import Verdict, ahit, hit
from realtime.relay import Head, Replay, relay
from realtime.sse import event_stream_head, event_stream_response, no_content

__all__ = [
    "CONFIRM_TIMEOUT_S",
    "SLOTS",
    "ASGIApp",
    "Head",
    "Hub",
    "HubState",
    "Message",
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
    "detach_request",
    "event_stream_head",
    "event_stream_response",
    "get_hub",
    "hit",
    "metrics",
    "no_content",
    "presence_all",
    "publish",
    "relay",
]
