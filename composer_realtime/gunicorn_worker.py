"""A gunicorn worker class that runs uvicorn and shuts down even with streams open.

`uvicorn.workers.UvicornWorker` never hands gunicorn's `graceful_timeout` to uvicorn, whose
`timeout_graceful_shutdown` then stays None: on SIGTERM uvicorn waits forever for open SSE
streams, and gunicorn SIGKILLs the worker at the end of its own grace period, skipping the
lifespan shutdown. This class passes the timeout through, a second shorter than gunicorn's so
that uvicorn cancels the streams and exits cleanly first. It also pins uvloop and httptools,
and leaves the access log off unless gunicorn is given one (one log line per stream reconnect
is real CPU at 10,000 streams).

It also bounds request heads, which uvicorn with httptools does not: gunicorn's
`limit_request_line`, `limit_request_fields` and `limit_request_field_size` (gunicorn applies
them only to its own sync workers) and a head timeout (composer_realtime/http_protocol.py).

uvicorn's proxy-headers middleware is off: the client's address is read in one place,
realtime/address.py, from X-Forwarded-For only when a proxy listed in
REALTIME_TRUSTED_PROXIES sent it (uvicorn's would also rewrite it for any request from
127.0.0.1, whatever that setting says, and keeps a coroutine frame of its own per open
stream); the scheme comes from SECURE_PROXY_SSL_HEADER (docs/serving.md).

Use: `gunicorn -k composer_realtime.gunicorn_worker.StreamingUvicornWorker ...` (gunicorn.conf.py
at the repository root sets it).
"""

import warnings
from typing import Any

with warnings.catch_warnings():
    # uvicorn 0.54 deprecates the module in favour of the `uvicorn-worker` package, which has
    # the same shortcoming; the class is still shipped and works.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

from composer_realtime.http_protocol import HeadLimits

# What uvicorn keeps of gunicorn's grace period, so that it finishes before the SIGKILL.
_SHUTDOWN_MARGIN_S = 1


class StreamingUvicornWorker(UvicornWorker):
    """Run uvicorn (uvloop, httptools) with gunicorn's graceful timeout and backlog."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "uvloop",
        "http": "composer_realtime.http_protocol:BoundedHttpToolsProtocol",
        "proxy_headers": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.head_limits = head_limits(self.cfg)  # type: ignore[attr-defined]
        self.config.timeout_graceful_shutdown = graceful_shutdown_s(self.cfg.graceful_timeout)
        self.config.backlog = int(self.cfg.backlog)
        self.config.access_log = bool(self.cfg.accesslog)


_UNLIMITED = 1 << 30


def head_limits(cfg: Any, *, timeout_s: float | None = None) -> HeadLimits:
    """Return the request-head limits of gunicorn's settings (0 = unlimited, as gunicorn)."""
    return HeadLimits(
        line=cfg.limit_request_line or _UNLIMITED,
        fields=cfg.limit_request_fields or _UNLIMITED,
        field_size=cfg.limit_request_field_size or _UNLIMITED,
        timeout_s=timeout_s if timeout_s is not None else HeadLimits().timeout_s,
    )


def graceful_shutdown_s(graceful_timeout: float) -> int:
    """Return uvicorn's shutdown timeout for gunicorn's `graceful_timeout` (at least 1 s)."""
    return max(1, int(graceful_timeout) - _SHUTDOWN_MARGIN_S)
