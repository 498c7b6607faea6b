import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from jobs.reaper import Reaper
from jobs.worker import CONNECTION_ERRORS

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Fail running jobs whose worker stopped beating (once, or every --every seconds; "
        "repeating, it rides out database outages)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="Repeat every N seconds until stopped (0: run once).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reaper = Reaper()
        while True:
            try:
                close_old_connections()
                for job in reaper.sweep():
                    self.stdout.write(f"reaped {job.pk} (last heartbeat {job.heartbeat_at})")
            except CONNECTION_ERRORS as exc:
                if not options["every"]:
                    raise
                logger.warning(
                    "database unavailable (%s); trying again in %s s", exc, options["every"]
                )
            if not options["every"]:
                return
            time.sleep(options["every"])
