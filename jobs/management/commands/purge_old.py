from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jobs import services


class Command(BaseCommand):
    help = (
        "Retention: delete jobs (events, artifacts) finished more than --days ago and "
        "anonymize journey records older than --journey-days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--journey-days", type=int, default=90)

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = services.jobs_purge_finished(older_than_days=options["days"])
        journeys = services.journeys_anonymize(older_than_days=options["journey_days"])
        self.stdout.write(f"purged {jobs} job(s); anonymized {journeys} journey record(s)")
