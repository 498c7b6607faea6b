"""The worker's toolchain process: solc-js and an in-process EVM in one long-lived Node.js child.

Loading the compiler costs a second or two, so one process serves every job of a worker, one
request at a time (the lock: one compile at a time per worker). While it waits for an answer
the caller's `should_stop` is polled; a cancel or a step's timeout kills the child at once, and
the next request starts a fresh one. The child's memory is checked after each job and the child
recycled above JOBS_TOOLCHAIN_MAX_RSS_MB.
"""

import atexit
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from django.conf import settings

POLL_S = 0.2
"""How often a waiting request checks `should_stop`: a cancel lands well within a second."""
EVM_VERSION = "cancun"
"""The EVM version the contracts are compiled for; toolchain/server.mjs runs the same hardfork."""


class ToolchainError(Exception):
    """The toolchain could not answer (not installed, crashed, or an op failed)."""


class Cancelled(Exception):
    """The job was asked to stop while the toolchain was working; the child was killed."""


class StepTimedOut(ToolchainError):
    """The toolchain took longer than the step's timeout; the child was killed."""


@dataclass(frozen=True, kw_only=True)
class Versions:
    """The pinned versions a generated project is built with."""

    solc: str
    """solc-js, which is also the version written into the generated hardhat config."""
    openzeppelin: str
    """@openzeppelin/contracts."""
    evm: str
    """The EVM version compiled for."""
    ethers: str
    """ethers, vendored into generated pages (and in their package.json for Hardhat)."""
    react: str
    """React and ReactDOM, vendored into pages of the React flavour."""
    htm: str
    """htm (JSX-like templates without a build step), vendored beside React."""


def toolchain_dir() -> Path:
    """Return the toolchain folder (package.json, package-lock.json, server.mjs)."""
    return Path(settings.JOBS_TOOLCHAIN_DIR)


def lockfile_bytes() -> bytes:
    """Return the toolchain's package-lock.json, which pins everything the compile depends on."""
    return (toolchain_dir() / "package-lock.json").read_bytes()


@cache
def _versions(lockfile: bytes) -> Versions:
    packages = json.loads(lockfile)["packages"]

    def version(package: str) -> str:
        return str(packages[f"node_modules/{package}"]["version"])

    return Versions(
        solc=version("solc"),
        openzeppelin=version("@openzeppelin/contracts"),
        evm=EVM_VERSION,
        ethers=version("ethers"),
        react=version("react"),
        htm=version("htm"),
    )


def toolchain_versions() -> Versions:
    """Return the pinned versions, read from the toolchain's lockfile."""
    return _versions(lockfile_bytes())


class Toolchain:
    """One Node.js child running toolchain/server.mjs, started on first use."""

    def __init__(self, *, directory: Path, node: str, idle: bool = False) -> None:
        self.directory, self.node = directory, node
        self.idle = idle
        """Start the child under SCHED_IDLE (JOBS_COMPILER_IDLE): a core only when one is free."""
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def request(
        self,
        op: str,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        timeout_s: float | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Send one request and return its answer; raise if it fails, is cancelled or times out."""
        with self._lock:
            process = self._ensure_started()
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
                process.stdin.flush()
            except BrokenPipeError:
                raise self._died() from None
            answer = self._read_answer(should_stop, timeout_s)
        if not answer.get("ok"):
            raise ToolchainError(str(answer.get("error", "the toolchain failed")))
        return answer

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        server = self.directory / "server.mjs"
        if not (self.directory / "node_modules" / "solc").is_dir():
            raise ToolchainError(
                f"the toolchain is not installed: run `npm ci` in {self.directory}"
                " (scripts/run and scripts/test do)"
            )
        self._stderr = tempfile.TemporaryFile()  # lives as long as the child
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own script, no shell
                [self.node, str(server)],
                cwd=self.directory,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                # In the child before exec, so that every thread Node starts inherits it.
                preexec_fn=_schedule_idle if self.idle else None,
            )
        except OSError as exc:
            raise ToolchainError(f"cannot start {self.node}: {exc}") from exc
        self._buffer = b""
        return self._process

    def _read_answer(
        self, should_stop: Callable[[], bool], timeout_s: float | None
    ) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if should_stop():
                self.kill()
                raise Cancelled
            if deadline is not None and time.monotonic() > deadline:
                self.kill()
                raise StepTimedOut(f"the toolchain did not answer within {timeout_s:.0f} s")
            if select.select([fd], [], [], POLL_S)[0]:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise self._died()
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _died(self) -> ToolchainError:
        tail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            tail = self._stderr.read().decode(errors="replace").strip()[-600:]
        self.kill()
        return ToolchainError(f"the toolchain process exited: {tail or 'no message'}")

    def kill(self) -> None:
        """Stop the child now (a later request starts a new one)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    @property
    def pid(self) -> int | None:
        """Return the child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def rss_bytes(self) -> int | None:
        """Return the child's resident memory, or None when no child runs."""
        return process_rss_bytes(self.pid) if self.pid is not None else None

    def recycle_if_large(self) -> bool:
        """Kill the child if its memory exceeds the limit; return True if it was killed."""
        rss = self.rss_bytes()
        if rss is not None and rss > settings.JOBS_TOOLCHAIN_MAX_RSS_MB * 2**20:
            self.kill()
            return True
        return False


def process_rss_bytes(pid: int | str = "self") -> int | None:
    """Return a process's resident set size from /proc (None where /proc has no such entry)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


_shared: dict[tuple[str, str, bool], Toolchain] = {}
_shared_lock = threading.Lock()


@atexit.register
def _stop_shared() -> None:
    for toolchain in _shared.values():
        toolchain.kill()


def shared_toolchain() -> Toolchain:
    """Return this process's toolchain for the configured folder, Node.js and policy."""
    key = (
        str(settings.JOBS_TOOLCHAIN_DIR),
        str(settings.JOBS_NODE),
        bool(settings.JOBS_COMPILER_IDLE),
    )
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Toolchain(directory=Path(key[0]), node=key[1], idle=key[2])
        return _shared[key]


def _schedule_idle() -> None:
    """Put the calling process under SCHED_IDLE (allowed without privileges on Linux)."""
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
