from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jobs.drafts import drafts_purge


class Command(BaseCommand):
    help = (
        "Delete wizard drafts nobody touched for --days days, and submitted ones after "
        "--submitted-hours hours. Run it daily (cron, a systemd timer)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=14,
            help="Age in days after which an unfinished draft is abandoned.",
        )
        parser.add_argument(
            "--submitted-hours",
            type=float,
            default=24,
            help="Age in hours after which a submitted draft is deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = drafts_purge(
            abandoned_after=timedelta(days=options["days"]),
            submitted_after=timedelta(hours=options["submitted_hours"]),
        )
        self.stdout.write(f"deleted {deleted} draft(s)")
