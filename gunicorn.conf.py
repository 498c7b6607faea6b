"""Production serving: `gunicorn -c gunicorn.conf.py composer_realtime.asgi:application`.

One uvicorn process per core (streams are I/O bound; a second process per core only adds
memory and a second Redis link), or more where the open-file limit calls for them: every open
stream is a socket, so the processes are as many as WEB_STREAMS need at the limit found (the
hard limit here is 20,000 per process, about 18,000 streams: 50,000 need three). The
file-descriptor limit is raised to the hard limit, and the hard limit to 65,536 where
permitted. Each worker listens on a socket of its own (SO_REUSEPORT): the kernel spreads
connections evenly over them, where one shared socket hands each to whichever worker wakes
first (two workers held 36 % and 64 % of the streams), and each has its own listen backlog for
a reconnect storm. The kernel hands a connection over once its first bytes have arrived
(TCP_DEFER_ACCEPT), so the request-head timeout starts when the client has started to talk.

Environment (read here, by the server, not by the application):
  BIND              address to listen on            (default 127.0.0.1:8000)
  WEB_CONCURRENCY   worker processes                (default: one per usable core, or as many
                    as WEB_STREAMS need at the open-file limit found, whichever is more)
  WEB_STREAMS       open streams the machine holds  (default 50,000; only sizes the workers)
  REUSE_PORT        a listening socket per worker   (default true; false: one shared socket)
  GRACEFUL_TIMEOUT  seconds to finish on SIGTERM    (default 10; streams are then cut and the
                    browsers reconnect elsewhere, resuming by Last-Event-ID)
  BACKLOG           listen backlog, per socket      (default 65535; capped by net.core.somaxconn,
                    4096 on many kernels: raise it, see docs/serving.md)
  GUNICORN_CONTROL_SOCKET  path of gunicorn's control socket (default: none; gunicorn's own
                    default is one path per user, which two servers on one machine would share)
  REQUEST_HEAD_TIMEOUT  seconds a client has to send a request's head (default 10)
  PROMETHEUS_MULTIPROC_DIR  where the workers share their metrics (default: a new temporary
                    directory, removed at exit); emptied at start either way

Metrics are whole-server: every worker writes its values to memory-mapped files in one
directory (prometheus-client's multiprocess mode), made empty here before the first worker
starts, so that a scrape of /metrics, whichever worker answers, merges them all; a worker that
exits takes its live gauges (streams open) with it, its counters stay in the totals.

Request heads are bounded by the worker itself (composer_realtime/http_protocol.py), with
gunicorn's own settings below: uvicorn with httptools would otherwise read a head of any size
and wait for it forever. Idle keep-alive connections close after `keepalive` seconds;
request bodies are bounded by the application (REALTIME_MAX_BODY_BYTES, REALTIME_BODY_TIMEOUT_S).
"""

import dataclasses
import math
import os
import resource
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from realtime.capacity import web_processes

bind = [address.strip() for address in os.environ.get("BIND", "127.0.0.1:8000").split(",")]
worker_class = "composer_realtime.gunicorn_worker.StreamingUvicornWorker"
backlog = int(os.environ.get("BACKLOG", "65535"))
reuse_port = os.environ.get("REUSE_PORT", "true").strip().lower() not in {"0", "false", "no"}
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "10"))
timeout = 30  # heartbeat from worker to arbiter; uvicorn notifies from its event loop
keepalive = 5
limit_request_line = 4094  # bytes of the request line: 414 beyond
limit_request_fields = 100  # header fields: 431 beyond
limit_request_field_size = 8190  # bytes of one header field: 431 beyond
request_head_timeout = float(os.environ.get("REQUEST_HEAD_TIMEOUT", "10"))
proc_name = "composer-web"
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket


NOFILE_WANTED = 65_536
"""Open files a worker may want: 20,000 streams on one process plus its pools, with room.
The hard limit is raised to it where the process may (root, CAP_SYS_RESOURCE); elsewhere the
soft limit goes up to whatever the hard limit is."""


def raise_nofile_limit() -> tuple[int, int]:
    """Raise this process's open-file limit (soft to hard, and the hard one too up to
    NOFILE_WANTED when permitted); return (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < NOFILE_WANTED:
        wanted = min(NOFILE_WANTED, _nr_open())
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        except (ValueError, OSError):  # not permitted: the hard limit stays
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _workers() -> int:
    """Return WEB_CONCURRENCY, or the processes WEB_STREAMS need at the open-file limit this
    server gets (raised first, as on_starting will), one per usable core at least."""
    given = int(os.environ.get("WEB_CONCURRENCY", "0"))
    if given:
        return given
    soft, _ = raise_nofile_limit()
    return web_processes(
        streams=int(os.environ.get("WEB_STREAMS", "50000")),
        cores=len(os.sched_getaffinity(0)),
        soft_limit=soft,
    )


def tune_listeners(sockets: list[Any]) -> None:
    """Hand a connection to accept() only once its first bytes arrived (TCP_DEFER_ACCEPT, for
    as long as a client has to send its head): the head timeout then counts from the client's
    first bytes, also for a client whose bytes the kernel dropped while the accept queue was
    full and who sends them again seconds later; a connection that never says anything costs
    no descriptor meanwhile."""
    if not hasattr(socket, "TCP_DEFER_ACCEPT"):
        return
    for listener in sockets:
        if listener.family in (socket.AF_INET, socket.AF_INET6):
            seconds = max(1, math.ceil(request_head_timeout))
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, seconds)


def _nr_open() -> int:
    """Return the kernel's ceiling for a process's open files (fs.nr_open)."""
    try:
        with open("/proc/sys/fs/nr_open") as limit:
            return int(limit.read())
    except (OSError, ValueError):
        return NOFILE_WANTED


workers = _workers()


def fresh_metrics_dir() -> str:
    """Return the directory the workers will share their metrics in, made empty now, and name it
    in PROMETHEUS_MULTIPROC_DIR for the workers (they read it when prometheus-client loads)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    path = Path(given or tempfile.mkdtemp(prefix="composer-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous server's values are not this one's
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    if not given:
        _MADE_DIRS.append(path)
    return str(path)


_MADE_DIRS: list[Path] = []
"""Metric directories this server made (removed at exit)."""


def on_starting(server: Any) -> None:
    """Raise the limit in the arbiter, before it binds and forks; make the metrics directory."""
    server.log.info("metrics shared in %s", fresh_metrics_dir())
    soft, hard = raise_nofile_limit()
    server.log.info(
        "RLIMIT_NOFILE %s (hard %s), backlog %s, %s workers, a listening socket each: %s",
        soft,
        hard,
        backlog,
        workers,
        reuse_port,
    )


def when_ready(server: Any) -> None:
    """Tune the listening sockets the arbiter made (one shared socket: REUSE_PORT off)."""
    tune_listeners(server.LISTENERS)


def post_fork(server: Any, worker: Any) -> None:
    """Raise it again in each worker, in case the arbiter ran under another limit, tune the
    worker's own listening sockets (REUSE_PORT), and give the worker its request-head timeout
    (gunicorn has no setting for it)."""
    raise_nofile_limit()
    tune_listeners(worker.sockets)
    config = getattr(worker, "config", None)
    if config is not None and hasattr(config, "head_limits"):
        config.head_limits = dataclasses.replace(config.head_limits, timeout_s=request_head_timeout)


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live gauges of a worker that exited (its streams are gone); keep its counters."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics directory this server made."""
    for path in _MADE_DIRS:
        shutil.rmtree(path, ignore_errors=True)
