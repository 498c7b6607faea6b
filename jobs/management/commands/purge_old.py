from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jobs import services
from jobs.generation.compile import cache_trim_now


class Command(BaseCommand):
    help = (
        "Retention: delete jobs (events, artifacts) finished more than --days ago and the "
        "artifact folders of jobs that are gone, anonymize journey records older than "
        "--journey-days, clear expired sessions, and trim the compile cache to "
        "JOBS_BUILD_CACHE_MAX_MB / JOBS_BUILD_CACHE_MAX_AGE_DAYS. Run it daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--journey-days", type=int, default=90)

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = services.jobs_purge_finished(older_than_days=options["days"])
        folders = services.artifacts_sweep()
        journeys = services.journeys_anonymize(older_than_days=options["journey_days"])
        services.sessions_clear_expired()
        cache = cache_trim_now()
        self.stdout.write(
            f"purged {jobs} job(s) and {folders} artifact folder(s); anonymized {journeys} "
            f"journey record(s); cleared expired sessions; compile cache: {cache.removed} "
            f"entries removed, {cache.kept} kept ({cache.kept_bytes / 1e6:.1f} MB)"
        )
