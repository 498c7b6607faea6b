"""A job whose events the test records itself, at a steady pace, from a thread of its own.

The fault tests need a job that outlasts a fault and whose every event has a known `ts`: the
real pipeline spends seconds of CPU compiling contracts (two cores are shared here) and its
pace is uneven. The events go through the same services a worker calls (`job_start`,
`job_report_progress`, `job_complete`), so they are written and published exactly as in
production, by a process other than the web server.
"""

import threading
import time
from dataclasses import dataclass, field

from django.db import connection

from jobs import services
from jobs.models import Job, JobEvent
from jobs.progress import job_complete, job_start


@dataclass
class ScriptedJob:
    """Run `job`: started, then a progress event every `every_s` until `duration_s` is over,
    then completed; `recorded` holds each event's (seq, ts as Unix time) once it is written."""

    job: Job
    duration_s: float
    every_s: float = 0.5
    recorded: list[tuple[int, float]] = field(default_factory=list)
    error: BaseException | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> "ScriptedJob":
        self._thread = threading.Thread(target=self._run, name="scripted-job", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float) -> None:
        """Return once the job has ended; raise what its thread raised."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"scripted job still running after {timeout}s")
        if self.error is not None:
            raise self.error

    @property
    def last_seq(self) -> int:
        return self.recorded[-1][0] if self.recorded else 0

    def ts_of(self, seq: int) -> float:
        return dict(self.recorded)[seq]

    def _note(self, event: JobEvent) -> None:
        self.recorded.append((event.seq, event.created_at.timestamp()))

    def _run(self) -> None:
        try:
            job = Job.objects.get(pk=self.job.pk)
            self.recorded.append((1, job.events.get(seq=1).created_at.timestamp()))
            self._note(job_start(job=job))
            started = time.monotonic()
            percent = 0
            while time.monotonic() - started < self.duration_s:
                time.sleep(self.every_s)
                percent = min(99, percent + 1)
                self._note(
                    services.job_report_progress(job=job, percent=percent, message=f"{percent} %")
                )
            self._note(job_complete(job=job, artifact_name=""))
        except BaseException as exc:  # handed to wait(), which raises it in the test
            self.error = exc
        finally:
            connection.close()


def lateness(
    arrivals: dict[int, float], recorded: list[tuple[int, float]], *, healed_at: float
) -> float:
    """Return the longest an event was late: how long after it was recorded, or after the
    fault ended if it was recorded before that, it reached the client. With a fault that
    lasts (latency, a bandwidth cap), `healed_at` is when it began."""
    return max(arrivals[seq] - max(ts, healed_at) for seq, ts in recorded)
