"""Serve the project with granian instead of gunicorn: `python -m composer_realtime.granian_serve`.

Not the production default (that is gunicorn.conf.py); the benchmark's alternative server
(`python -m bench --servers gunicorn,granian`, issue 16), set up as close to gunicorn.conf.py
as granian allows, from the same environment:

  BIND              one address to listen on        (default 127.0.0.1:8000; granian binds one)
  WEB_CONCURRENCY   worker processes                (default: the number of usable cores)
  GRACEFUL_TIMEOUT  seconds a worker has to finish on SIGTERM before granian kills it
                    (default 10: granian's `workers_kill_timeout`)
  BACKLOG           listen backlog                  (default 4096; capped by net.core.somaxconn)
  REQUEST_HEAD_TIMEOUT  seconds a client has to send a request's head (default 10; granian
                    takes whole milliseconds up to 60 s)

The same as gunicorn.conf.py: one worker process per core (forked), the open-file limit raised
by gunicorn.conf.py's own `raise_nofile_limit` (here, before the workers fork: they inherit
it), ASGI with lifespan (the app's startup installs the SIGTERM drain, realtime/asgi/shutdown.py),
uvloop, HTTP/1.1 only (what nginx speaks upstream), no access log, its log on stderr, and a
dead worker replaced.

What granian lacks compared with our gunicorn worker (composer_realtime/http_protocol.py):
request heads are bounded only as a whole, by HTTP/1 `max_buffer_size` (set to the same
total as HeadLimits.head_bytes(), ~823 KB), and by hyper's fixed cap on header fields; there is
no separate request-line limit (414) or per-field size limit, and a head that is too slow gets
its connection closed without a 408. There is no worker heartbeat (gunicorn's `timeout`): a
worker whose event loop hangs stays. Granian also holds at most `backpressure` requests per
worker at once, an open stream being one: it is set here to the open-file limit, so that the
file descriptors, not granian, bound the streams.
"""

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.server.mp import MPServer

from composer_realtime.http_protocol import HeadLimits

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = "composer_realtime.asgi:application"
MAX_HEAD_TIMEOUT_MS = 60_000
"""The longest header read timeout granian accepts."""
LOG_TO_STDERR = {
    "handlers": {
        name: {
            "formatter": name if name == "access" else "generic",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        }
        for name in ("console", "access")
    }
}
"""granian's own log on stderr, as gunicorn's (granian writes it to stdout by default)."""


def gunicorn_conf() -> ModuleType:
    """Return gunicorn.conf.py loaded as a module (its settings and `raise_nofile_limit`)."""
    spec = importlib.util.spec_from_file_location(
        "composer_gunicorn_conf", ROOT / "gunicorn.conf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split_bind(bind: str) -> tuple[str, int]:
    """Return (host, port) of one `host:port` (IPv6 in brackets); refuse several addresses."""
    if "," in bind:
        raise SystemExit(f"granian binds one address, not {bind!r}")
    host, _, port = bind.strip().rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"BIND must be host:port, not {bind!r}")
    return host.strip("[]"), int(port)


def head_timeout_ms(seconds: float) -> int:
    """Return granian's header read timeout for REQUEST_HEAD_TIMEOUT (1 ms .. 60 s)."""
    return max(1, min(MAX_HEAD_TIMEOUT_MS, round(seconds * 1000)))


def loop() -> Loops:
    """Return uvloop where it is installed (as the gunicorn worker pins), else asyncio."""
    return Loops.uvloop if importlib.util.find_spec("uvloop") else Loops.asyncio


def build(env: dict[str, str] | None = None) -> MPServer:
    """Return the granian server for the environment `env` (default: os.environ), with the
    open-file limit of this process raised."""
    env = dict(os.environ if env is None else env)
    conf = gunicorn_conf()
    soft, _hard = conf.raise_nofile_limit()
    host, port = split_bind(env.get("BIND", "127.0.0.1:8000"))
    workers = int(env.get("WEB_CONCURRENCY", "0")) or len(os.sched_getaffinity(0))
    graceful = max(1, int(env.get("GRACEFUL_TIMEOUT", "10")))
    limits = HeadLimits(timeout_s=float(env.get("REQUEST_HEAD_TIMEOUT", "10")))
    return MPServer(  # worker processes (granian's MTServer, threads, is for free-threaded builds)
        APPLICATION,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=loop(),
        http=HTTPModes.http1,
        websockets=False,
        backlog=int(env.get("BACKLOG", "4096")),
        backpressure=max(1, int(soft)),
        http1_settings=HTTP1Settings(
            header_read_timeout=head_timeout_ms(limits.timeout_s),
            keep_alive=True,
            max_buffer_size=limits.head_bytes(),
        ),
        log_dictconfig=LOG_TO_STDERR,
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=graceful,
        working_dir=ROOT,
    )


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    build().serve()


if __name__ == "__main__":
    main()
