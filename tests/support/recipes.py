"""The README's client recipes, as programs a test runs: curl (bash), httpx, Node's eventsource.

The README shows each recipe in full, right after a marker line `<!-- recipe: PATH -->`, and
PATH holds the same text (a test checks that they are equal), so a recipe run here is the
README's own. A recipe follows the job `$JOB` on `$BASE` with `$TOKEN` and prints one line per
event, each once, in order ("seq type percent message", or the event's JSON); `Program`
timestamps every line.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from tests.support.servers import ROOT

README = ROOT / "README.md"
NODE_DIR = ROOT / "examples" / "node"

COMMANDS = {
    "curl": ["bash", "-c", ". examples/follow.sh && follow"],
    "httpx": [sys.executable, "examples/follow.py"],
    "node": ["node", "examples/node/follow.mjs"],
}
"""How each recipe runs, from the repository's root."""

RECIPE_FILES = {
    "curl": "examples/follow.sh",
    "httpx": "examples/follow.py",
    "node": "examples/node/follow.mjs",
}

_MARKED = re.compile(r"<!-- recipe: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```", re.S)


def readme_recipes() -> dict[str, str]:
    """Return each recipe of the README by the path its marker names."""
    return {m["path"]: m["code"] for m in _MARKED.finditer(README.read_text())}


def readme_section(title: str) -> str:
    """Return the README's section under the `## title` heading, up to the next one."""
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def shell_blocks(markdown: str) -> list[str]:
    """Return the ```sh blocks of `markdown`, in order."""
    return re.findall(r"```sh\n(.*?)```", markdown, re.S)


_EVENT_LINE = re.compile(
    r"^(\d+) (job-update|progress-update|error-notification|completion-status) "
)


def event_seq(line: str) -> int | None:
    """Return the seq of the event a recipe printed on `line` (None: not an event)."""
    if line.startswith("{"):
        event = json.loads(line)
        return int(event["seq"]) if "seq" in event and "type" in event else None
    match = _EVENT_LINE.match(line)
    return int(match[1]) if match else None


@dataclass
class Program:
    """A recipe running as a child process, each line of its output timestamped."""

    client: str
    env: dict[str, str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    """What it said on stderr (each reconnect, and why), timestamped."""
    popen: subprocess.Popen[str] | None = None
    _readers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> "Program":
        self.popen = subprocess.Popen(
            COMMANDS[self.client],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_errors, daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        return self

    def _read(self) -> None:
        assert self.popen is not None and self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def _read_errors(self) -> None:
        assert self.popen is not None and self.popen.stderr is not None
        for line in self.popen.stderr:
            self.errors.append((time.time(), line.rstrip("\n")))

    @property
    def seqs(self) -> list[int]:
        """Return the seq of every event printed, in order, duplicates included."""
        return [seq for _, line in self.lines if (seq := event_seq(line)) is not None]

    @property
    def arrivals(self) -> dict[int, float]:
        """Return when each seq was first printed."""
        first: dict[int, float] = {}
        for at, line in self.lines:
            if (seq := event_seq(line)) is not None:
                first.setdefault(seq, at)
        return first

    def wait_for_seq(self, seq: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while seq not in self.seqs:
            if time.monotonic() > deadline or self.popen is None or self.popen.poll() is not None:
                raise TimeoutError(f"{self.client} did not print seq {seq}: {self.report()}")
            time.sleep(0.05)

    def wait(self, timeout: float) -> int:
        """Return the exit code once the program ended by itself; kill it after `timeout`."""
        assert self.popen is not None
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TimeoutError(
                f"{self.client} still running after {timeout}s: {self.report()}"
            ) from None
        self.stop()
        return code

    def stop(self) -> None:
        """Kill the program if it still runs, read the rest of its output, close its pipes."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(10)
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()

    def report(self) -> str:
        lines = [(round(at, 1), text) for at, text in self.lines]
        return f"printed {lines}; stderr: {[(round(at, 1), e) for at, e in self.errors[-30:]]}"
