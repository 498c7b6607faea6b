from typing import Any

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from jobs.worker import ResilientWorker, lower_priority


class Command(DbWorkerCommand):
    help = (
        "Run the task worker (django-tasks-db's db_worker, with the same options) so that "
        "it rides out database outages instead of exiting. It never reloads on code "
        "changes: a reload would kill a running task. It runs at the CPU niceness "
        "JOBS_WORKER_NICE (10), and so does its compiler: the web processes come first."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        """Run a `ResilientWorker` in this process until it is stopped."""
        self.configure_logging(verbosity)
        lower_priority(settings.JOBS_WORKER_NICE)
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        worker.configure_signals()
        worker.run()
