"""`--profile`: where the web processes spend their CPU, sampled by py-spy during a run.

For each of our stream runs, two profiles of every gunicorn worker (py-spy `--subprocesses`
on the arbiter, 100 samples/s, `--nonblocking` so the workers are never paused): one while
the streams open, one while the events flow. Each is kept as collapsed stacks (flame-graph
input: `frame;frame;… count`) in the run folder and summarized in the JSON: the functions
with the most samples on the stack (inclusive) and at the top of it (self), as a share of the
samples in which the process was busy (`--idle` off: a worker waiting in epoll is not sampled).
Only threads holding the GIL are sampled (`--gil`): a thread waiting for PostgreSQL in
psycopg's C code, or for its executor's queue, is not busy, and without it such waits showed
as the larger part of the open profile.
"""

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 100
TOP = 40
STOP_TIMEOUT_S = 20.0


class Profiler:
    """One py-spy recording of a process tree, from `start` until `stop`."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        binary = shutil.which("py-spy") or str(
            Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy"
        )
        self._popen = subprocess.Popen(  # fixed argv; the pid is ours
            [
                binary,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--nonblocking",
                "--gil",
                "--rate",
                str(RATE_HZ),
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=out.with_suffix(".log").open("wb"),
        )

    def stop(self) -> dict[str, Any]:
        """Stop recording (py-spy writes its file on SIGINT); return the summary."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGINT)
        try:
            self._popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            return {"error": "py-spy did not stop", "file": str(self.out)}
        if not self.out.exists():
            log = self.out.with_suffix(".log")
            return {
                "error": log.read_text(errors="replace")[-500:] if log.exists() else "no output",
                "file": str(self.out),
            }
        return summarize(self.out) | {"file": str(self.out)}


def summarize(path: Path, top: int = TOP) -> dict[str, Any]:
    """Return the busiest functions of a collapsed-stack file, inclusive and self, in %."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if frame is not None]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "inclusive_pct": share(inclusive) if total else [],
        "self_pct": share(own) if total else [],
    }


ROOTS = (
    "gunicorn/",
    "asyncio/runners.py",
    "uvicorn/workers.py",
    "threading.py",
    "concurrent/futures/thread.py",
    "<frozen ",
)
"""Files of the frames every busy sample of a worker passes through: left out."""


def _short(frame: str) -> str | None:
    """Return `function (file)` with the file shortened; None for process/thread frames and
    the roots every sample shares."""
    if frame.startswith(("process ", "thread ")):
        return None
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "lib/python3.12/", "/main/", "/benchtree/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    file = where.rsplit(":", 1)[0]
    if file.startswith(ROOTS) or file.endswith("gunicorn"):
        return None
    return f"{name} ({file})"
