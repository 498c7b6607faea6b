"""The polling load: `GET /api/jobs/<uuid>/status?since=<seq>` at a set rate, open loop.

`python -m bench.poller --spec SPEC.json --out RESULT.json` (started by the benchmark).

Each poll behaves like the page's fallback client: it sends the ETag of its last answer for
that job in If-None-Match and its last seq as `since`, and follows the answer. Requests are
scheduled at `rate` per second whatever the server does (open loop), over `connections`
keep-alive connections; latency is counted from the scheduled moment, so a server that falls
behind shows it in the latency instead of slowing the load down. Phases run one after the
other; before a phase each job is fetched once (not timed) to learn its ETag.

Spec keys: host, port, cookie, connections, phases: [{name, jobs, rate, duration_s,
warmup_s, conditional}] (warmup_s: seconds of the same load before the counted ones, default
0; conditional: false sends no If-None-Match, so that every poll is a whole answer from Django
and the database, as a page's first poll after falling back is; default true).
"""

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench import control


@dataclass
class JobState:
    """What a polling client remembers of one job."""

    etag: str = ""
    since: int = 0


@dataclass
class PhaseResult:
    """Answers of one phase: latency per status code, and what never got sent."""

    name: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    unsent: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the raw result for the benchmark."""
        return {
            "name": self.name,
            "latencies": self.latencies,
            "errors": self.errors,
            "unsent": self.unsent,
            "elapsed_s": self.elapsed_s,
        }


class Poller:
    """Send the spec's phases of polls and keep what came back."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.states: dict[str, JobState] = {}

    def request(self, job: str, conditional: bool) -> bytes:
        """Return the GET of one poll."""
        state = self.states.setdefault(job, JobState())
        lines = [
            f"GET /api/jobs/{job}/status?since={state.since} HTTP/1.1",
            f"Host: {self.spec['host']}:{self.spec['port']}",
            "Accept: application/json",
        ]
        if self.spec.get("cookie"):
            lines.append(f"Cookie: {self.spec['cookie']}")
        if conditional and state.etag:
            lines.append(f"If-None-Match: {state.etag}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        job: str,
        conditional: bool,
    ) -> str:
        """Send one poll on a kept-alive connection; return the status code."""
        writer.write(self.request(job, conditional))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)[1]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        state = self.states[job]
        if status == "200":
            state.etag = headers.get("etag", "")
            state.since = int(json.loads(body).get("last_seq", state.since))
        return status

    async def phase(self, phase: dict[str, Any]) -> PhaseResult:
        """Run one phase: prime, then poll at the rate for the duration."""
        result = PhaseResult(name=phase["name"])
        jobs: list[str] = phase["jobs"]
        reader, writer = await asyncio.open_connection(self.spec["host"], self.spec["port"])
        for _ in range(2):  # learn each job's seq, then the ETag of an answer at that seq
            for job in jobs:
                await self.exchange(reader, writer, job, conditional=True)
        writer.close()
        rate = float(phase["rate"])
        warmup = float(phase.get("warmup_s", 0.0))
        conditional = bool(phase.get("conditional", True))
        if warmup > 0:  # the same load, not counted: every server process meets every job
            await self.load(PhaseResult(name="warmup"), jobs, rate, warmup, conditional)
        await self.load(result, jobs, rate, float(phase["duration_s"]), conditional)
        return result

    async def load(
        self,
        result: PhaseResult,
        jobs: list[str],
        rate: float,
        duration: float,
        conditional: bool = True,
    ) -> None:
        """Offer `rate` polls/s over fresh connections for `duration` seconds, into `result`."""
        conns = [
            await asyncio.open_connection(self.spec["host"], self.spec["port"])
            for _ in range(int(self.spec.get("connections", 32)))
        ]
        queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        started = time.monotonic()
        end = started + duration
        done_at = [started]

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                due, job = await queue.get()
                try:
                    status = await self.exchange(reader, writer, job, conditional)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    reader, writer = await asyncio.open_connection(
                        self.spec["host"], self.spec["port"]
                    )
                    continue
                finally:
                    queue.task_done()
                done_at[0] = time.monotonic()
                result.latencies.setdefault(status, []).append(done_at[0] - due)

        workers = [asyncio.create_task(worker(r, w)) for r, w in conns]
        sent = 0
        while (now := time.monotonic()) < end:
            while sent < (now - started) * rate:
                queue.put_nowait((started + sent / rate, jobs[sent % len(jobs)]))
                sent += 1
            await asyncio.sleep(0.001)
        try:
            async with asyncio.timeout(5):  # let the answers still due come back
                await queue.join()
        except TimeoutError:
            pass
        result.unsent = queue.qsize()
        # Answers per second actually served: until the last answer, not the last schedule.
        result.elapsed_s = max(duration, done_at[0] - started)
        for task in workers:
            task.cancel()
        for _, writer in conns:
            writer.close()

    async def run(self) -> dict[str, Any]:
        """Run every phase; return their results."""
        results = []
        for phase in self.spec["phases"]:
            control.say(phase=phase["name"])
            results.append((await self.phase(phase)).as_dict())
        return {"phases": results}


def main(argv: list[str] | None = None) -> int:
    """Run the poller from its spec file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec = json.load(handle)
    import uvloop

    result = uvloop.run(Poller(spec).run())
    with open(args.out, "w") as handle:
        json.dump(result, handle)
    control.say(done=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
