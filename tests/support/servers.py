"""Real processes for tests: uvicorn, the task worker, the reaper. Every wait is bounded."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    """A child process with its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> "Proc":
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; return the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class WebServer:
    """A uvicorn server running the project."""

    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.popen is not None
            if self.proc.popen.poll() is not None:
                raise RuntimeError(f"web server exited early:\n{self.proc.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"web server not ready in {timeout}s:\n{self.proc.log()[-3000:]}")


def read_until_closed(sock: socket.socket) -> bytes:
    """Return what the server sent until it closed the connection (or reset it), within the
    socket's timeout."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def gunicorn_command() -> list[str]:
    """The production server: gunicorn with gunicorn.conf.py, as scripts/serve runs it."""
    return python_command(
        "-m", "gunicorn", "-c", "gunicorn.conf.py", "composer_realtime.asgi:application"
    )


def uvicorn_command(port: int, *extra: str) -> list[str]:
    """The ASGI application under plain uvicorn on 127.0.0.1:`port` (what most tests serve)."""
    return python_command(
        "-m",
        "uvicorn",
        "composer_realtime.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "2",
        *extra,
    )


def serve(
    name: str,
    args: list[str],
    env: dict[str, str],
    port: int,
    log_path: Path,
    processes: list[Proc],
    ready_timeout: float = 30,
) -> WebServer:
    """Start a web server listening on `port`, kept in `processes` (which the fixture of that
    name stops); return it once it answers."""
    proc = Proc(name, args, env, log_path)
    processes.append(proc.start())
    server = WebServer(proc, port)
    server.wait_ready(timeout=ready_timeout)
    return server


def make_web(
    env: dict[str, str], log_dir: Path, port: int | None = None, extra: tuple[str, ...] = ()
) -> WebServer:
    port = port or free_port()
    args = uvicorn_command(port, *extra)
    return WebServer(Proc(f"web-{port}", args, env, log_dir / f"web-{port}.log"), port)


def make_worker(env: dict[str, str], log_dir: Path, name: str = "worker") -> Proc:
    args = python_command(
        "manage.py", "run_worker", "--interval", "0.1", "--no-reload", "--no-startup-delay"
    )
    return Proc(name, args, env, log_dir / f"{name}.log")


def make_reaper(env: dict[str, str], log_dir: Path) -> Proc:
    args = python_command("manage.py", "reap_jobs", "--every", "0.3")
    return Proc("reaper", args, env, log_dir / "reaper.log")


def proc_threads(pid: int) -> int:
    """Return the number of OS threads of process `pid` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no Threads line")


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update({"DJANGO_SETTINGS_MODULE": "composer_realtime.settings", "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


def closing_connection(fn: "Callable[..., T]") -> "Callable[..., T]":
    """Wrap `fn` to close the calling thread's database connection afterwards.

    For ORM calls a test makes from a helper thread (asyncio.to_thread): a connection left
    open there would keep the test database from being dropped.
    """
    from django.db import connection

    def call(*args: object, **kwargs: object) -> "T":
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return call


def proc_rss_kb(pid: int) -> int:
    """Return the resident memory of process `pid` in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


TCP_ESTABLISHED, TCP_LISTEN = "01", "0A"
"""Connection states as /proc/net/tcp writes them."""


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = fd.readlink().as_posix() if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_sockets(pid: int, port: int, state: str) -> set[str]:
    """Return the inodes of the IPv4 TCP sockets on local `port` in `state` that `pid` holds."""
    held = _socket_inodes(pid)
    found = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == state and fields[9] in held:
            found.add(fields[9])
    return found


def established_sockets(pid: int, port: int) -> int:
    """Return how many established connections on local `port` process `pid` holds."""
    return len(_tcp_sockets(pid, port, TCP_ESTABLISHED))


def listening_sockets(pid: int, port: int) -> set[str]:
    """Return the inodes of the sockets listening on `port` that process `pid` holds."""
    return _tcp_sockets(pid, port, TCP_LISTEN)
