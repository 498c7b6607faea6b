"""Run the whole composer locally: the web server, the worker(s) and the reaper.

A development runner, not a process manager for production. Each part runs as a child process
with this same interpreter; if any of them exits, the others are stopped and the command exits
non-zero. SIGINT and SIGTERM are forwarded to the children (as SIGTERM, their graceful stop).
"""

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

STOP_GRACE_S = 10.0
POLL_S = 0.2
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One supervised child process."""

    name: str
    process: "subprocess.Popen[bytes]"


@dataclass
class StopRequest:
    """What the signal handler saw: the last stop signal, and when to give up waiting."""

    signum: int | None = None
    deadline: float | None = None
    children: list[Child] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Run the web server (uvicorn), the task worker(s) and the reaper as child "
        "processes; stop them all when one exits or on Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (8000).")
        parser.add_argument(
            "--workers", type=int, default=1, help="Number of `run_worker` processes (1)."
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Start neither worker nor reaper: the web server only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Start the children, wait for a stop signal or a child's exit, then stop them all."""
        if options["workers"] < 1 and not options["no_worker"]:
            raise CommandError("--workers must be at least 1 (use --no-worker for none).")
        commands = _commands(
            host=options["host"],
            port=options["port"],
            workers=0 if options["no_worker"] else options["workers"],
        )
        request = StopRequest()
        _install_signal_handlers(request=request)
        for name, argv in commands:
            request.children.append(_start(name=name, argv=argv))
            self.stdout.write(f"started {name} (pid {request.children[-1].process.pid})")
        self.stdout.write(
            self.style.SUCCESS(
                f"Composer running: open {_url(host=options['host'], port=options['port'])}"
                "  (Ctrl-C stops everything)"
            )
        )
        self.stdout.flush()
        failed = _supervise(request=request, log=self.stderr.write)
        _stop_all(request=request, log=self.stderr.write)
        if failed:
            raise CommandError(f"{failed} exited; stopped the others.", returncode=1)


def _commands(*, host: str, port: int, workers: int) -> list[tuple[str, list[str]]]:
    """Build the (name, argv) of every child to start: web first, then workers and reaper."""
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    web = [
        sys.executable,
        "-m",
        "uvicorn",
        "composer_realtime.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--timeout-graceful-shutdown",
        "5",
    ]
    commands = [("web server", web)]
    for index in range(1, workers + 1):
        # --no-reload: the reloader's parent would SIGKILL a running task on SIGTERM.
        worker = [sys.executable, manage, "run_worker", "--interval", "0.5", "--no-reload"]
        commands.append((f"worker {index}" if workers > 1 else "worker", worker))
    if workers:
        commands.append(("reaper", [sys.executable, manage, "reap_jobs", "--every", "5"]))
    return commands


def _url(*, host: str, port: int) -> str:
    """Format the address to open in a browser."""
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104 - display only
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _start(*, name: str, argv: list[str]) -> Child:
    """Start one child in its own session, so a terminal's Ctrl-C reaches it only once, by us."""
    process = subprocess.Popen(  # noqa: S603 - argv built above from fixed parts
        argv, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent
    )
    return Child(name=name, process=process)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child if the runner dies without cleaning up (e.g. SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _install_signal_handlers(*, request: StopRequest) -> None:
    """Record SIGINT/SIGTERM; a second one shortens the grace period to nothing."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        """Remember the signal; on a repeat, make the grace period end now."""
        if request.signum is not None:
            request.deadline = time.monotonic()
        request.signum = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def _supervise(*, request: StopRequest, log: Callable[[str], object]) -> str | None:
    """Wait until a stop signal arrives (return None) or a child exits (return its name)."""
    while request.signum is None:
        for child in request.children:
            code = child.process.poll()
            if code is not None:
                log(f"{child.name} exited with code {code}; stopping the others.")
                return child.name
        time.sleep(POLL_S)
    log(f"received {signal.Signals(request.signum).name}; stopping.")
    return None


def _stop_all(*, request: StopRequest, log: Callable[[str], object]) -> None:
    """Send SIGTERM to every live child, then SIGKILL whatever is left after the grace period."""
    for child in request.children:
        _signal(child=child, signum=signal.SIGTERM)
    if request.deadline is None:
        request.deadline = time.monotonic() + STOP_GRACE_S
    while _alive(children=request.children) and time.monotonic() < request.deadline:
        time.sleep(POLL_S)
    for child in _alive(children=request.children):
        log(f"{child.name} did not stop in time; killing it.")
        _signal(child=child, signum=signal.SIGKILL)
        child.process.wait()


def _alive(*, children: list[Child]) -> list[Child]:
    """Return the children that have not exited yet."""
    return [child for child in children if child.process.poll() is None]


def _signal(*, child: Child, signum: int) -> None:
    """Send a signal to a child that may already be gone."""
    if child.process.poll() is None:
        try:
            child.process.send_signal(signum)
        except ProcessLookupError:
            pass
