"""The control pipe between the benchmark and its child processes (stdlib only).

A child reads one-word commands on stdin ("go", "stop") and writes one JSON object per line
on stdout (status as it goes, then `{"done": true}` once its result file is written). The
parent starts every child in a process group of its own, so that one `killpg` ends it with
whatever it started, even when something went wrong.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent


# --- child side ---------------------------------------------------------------------------


def say(**fields: Any) -> None:
    """Write one status line for the parent."""
    sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def listen(on_command: Callable[[str], object]) -> threading.Thread:
    """Call `on_command` with each line read from stdin (and "stop" at end of input)."""

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                on_command(line.strip())
        on_command("stop")  # the parent went away: stop rather than run on

    thread = threading.Thread(target=read, name="control", daemon=True)
    thread.start()
    return thread


# --- parent side --------------------------------------------------------------------------


@dataclass
class Child:
    """A child process in its own process group, with its status lines collected."""

    name: str
    popen: "subprocess.Popen[str]"
    log_path: Path
    out: Path | None = None
    """The child's result file, if it writes one."""
    lines: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, command: str) -> None:
        """Send one command line; ignore a child that is already gone."""
        try:
            assert self.popen.stdin is not None
            self.popen.stdin.write(command + "\n")
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def last(self, key: str) -> dict[str, Any] | None:
        """Return the latest status line that has `key`."""
        with self._lock:
            for line in reversed(self.lines):
                if key in line:
                    return dict(line)
        return None

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.popen.poll() is None

    def wait_for(self, key: str, timeout: float) -> dict[str, Any]:
        """Return the first status line with `key`; raise if the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.last(key)
            if found is not None:
                return found
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited ({self.popen.returncode}) before "
                    f"{key!r}; log {self.log_path}:\n{tail(self.log_path)}"
                )
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.name}: no {key!r} within {timeout:.0f}s; log "
            f"{self.log_path}:\n{tail(self.log_path)}"
        )

    def kill(self) -> None:
        """SIGKILL the child's whole process group."""
        kill_group(self.popen.pid)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _collect(self, stream: IO[str]) -> None:
        for raw in stream:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                with self._lock:
                    self.lines.append(line)


def spawn(
    name: str, argv: list[str], *, env: dict[str, str], log_dir: Path, registry: list["Child"]
) -> Child:
    """Start `argv` in a new process group, stderr to a log file; register it for cleanup."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen(  # fixed argv of our own modules
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
            bufsize=1,
        )
    child = Child(name=name, popen=popen, log_path=log_path)
    registry.append(child)
    assert popen.stdout is not None
    threading.Thread(
        target=child._collect, args=(popen.stdout,), daemon=True, name=f"read-{name}"
    ).start()
    return child


def kill_group(pid: int) -> None:
    """SIGKILL process group `pid` (a child started with start_new_session), if any is left."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tail(path: Path, chars: int = 2500) -> str:
    """Return the end of a log file."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""
