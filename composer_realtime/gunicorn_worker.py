"""A gunicorn worker class that runs uvicorn and shuts down even with streams open.

`uvicorn.workers.UvicornWorker` never hands gunicorn's `graceful_timeout` to uvicorn, whose
`timeout_graceful_shutdown` then stays None: on SIGTERM uvicorn waits forever for open SSE
streams, and gunicorn SIGKILLs the worker at the end of its own grace period, skipping the
lifespan shutdown. This class passes the timeout through, a second shorter than gunicorn's so
that uvicorn cancels the streams and exits cleanly first. It also pins uvloop and httptools,
and leaves the access log off unless gunicorn is given one (one log line per stream reconnect
is real CPU at 10,000 streams).

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

# What uvicorn keeps of gunicorn's grace period, so that it finishes before the SIGKILL.
_SHUTDOWN_MARGIN_S = 1


class StreamingUvicornWorker(UvicornWorker):
    """Run uvicorn (uvloop, httptools) with gunicorn's graceful timeout and backlog."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": "uvloop", "http": "httptools"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = graceful_shutdown_s(self.cfg.graceful_timeout)
        self.config.backlog = int(self.cfg.backlog)
        self.config.access_log = bool(self.cfg.accesslog)


def graceful_shutdown_s(graceful_timeout: float) -> int:
    """Return uvicorn's shutdown timeout for gunicorn's `graceful_timeout` (at least 1 s)."""
    return max(1, int(graceful_timeout) - _SHUTDOWN_MARGIN_S)
