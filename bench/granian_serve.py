"""Serve the project with granian instead of gunicorn: `python -m bench.granian_serve`.

The benchmark's alternative server (`python -m bench --servers gunicorn,granian`, issue 16),
not a way to run production (that is gunicorn.conf.py, and granian is a dev requirement). Set
up as close to gunicorn.conf.py as granian allows, from gunicorn.conf.py itself: its
environment (BIND, one address here; WEB_CONCURRENCY; GRACEFUL_TIMEOUT, granian's
`workers_kill_timeout`; BACKLOG; REQUEST_HEAD_TIMEOUT, which granian takes in whole
milliseconds up to 60 s) and its `raise_nofile_limit` (here, before the workers fork: they
inherit it).

The same as gunicorn.conf.py: one worker process per core (forked), ASGI with lifespan (the
app's startup installs the SIGTERM drain, realtime/asgi/shutdown.py), uvloop, HTTP/1.1 only
(what nginx speaks upstream), no access log, its log on stderr, and a dead worker replaced.

What granian lacks compared with our gunicorn worker (composer_realtime/http_protocol.py):
request heads are bounded only as a whole, by HTTP/1 `max_buffer_size` (set to the same
total as HeadLimits.head_bytes()), and by hyper's fixed cap on header fields; there is no
separate request-line limit (414) or per-field size limit, and a head that is too slow gets
its connection closed without a 408. There is no worker heartbeat (gunicorn's `timeout`): a
worker whose event loop hangs stays. Granian also holds at most `backpressure` requests per
worker at once, an open stream being one: it is set here to the open-file limit, so that the
file descriptors, not granian, bound the streams.
"""

import importlib.util
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
    """Return (host, port) of one `host:port` (IPv6 in brackets)."""
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


def build() -> MPServer:
    """Return the granian server that gunicorn.conf.py describes (from this process's
    environment), with the open-file limit of this process raised."""
    conf = gunicorn_conf()
    soft, _hard = conf.raise_nofile_limit()
    if len(conf.bind) != 1:
        raise SystemExit(f"granian binds one address, not {','.join(conf.bind)!r}")
    host, port = split_bind(conf.bind[0])
    limits = HeadLimits(timeout_s=conf.request_head_timeout)
    return MPServer(  # worker processes (granian's MTServer, threads, is for free-threaded builds)
        APPLICATION,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=conf.workers,
        loop=loop(),
        http=HTTPModes.http1,
        websockets=False,
        backlog=conf.backlog,
        backpressure=max(1, int(soft)),
        http1_settings=HTTP1Settings(
            header_read_timeout=head_timeout_ms(limits.timeout_s),
            keep_alive=True,
            max_buffer_size=limits.head_bytes(),
        ),
        log_dictconfig=LOG_TO_STDERR,
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=max(1, conf.graceful_timeout),
        working_dir=ROOT,
    )


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    build().serve()


if __name__ == "__main__":
    main()
