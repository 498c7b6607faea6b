"""The ASGI types, named once for the transport and its callers."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CANCELS_ON_DISCONNECT = "composer.cancels_on_disconnect"
"""A scope extension of a server that cancels the request's task when its client goes away,
so that the application needs no task of its own waiting on `receive` for the disconnect
(composer_realtime/http_protocol.py offers it). Its value is a `ServerDisconnectWatch`."""


class DisconnectWatch(Protocol):
    """What cancels the request's task when its client goes away, as the handler sees it."""

    def aborted(self) -> bool:
        """Return True when the cancellation being handled came from here (and take it
        back); False when it came from elsewhere too (a shutdown) or not from here."""

    def stop(self) -> None:
        """Stop watching: the request is over."""


class ServerDisconnectWatch(DisconnectWatch, Protocol):
    """The server's watch (CANCELS_ON_DISCONNECT), told which task to cancel."""

    def adopt(self, task: "asyncio.Task[Any]") -> None:
        """Cancel `task` if the client goes away before the response is complete."""
