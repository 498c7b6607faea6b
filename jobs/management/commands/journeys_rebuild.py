import time
from typing import Any

from django.core.management.base import BaseCommand

from jobs.journey_rollup import journeys_rebuild


class Command(BaseCommand):
    help = (
        "Fold every journey anew from the recorded journey events (the funnel's rollup). "
        "Never needed in normal running: each event folds as it is recorded."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        count = journeys_rebuild()
        self.stdout.write(f"folded {count} journey(s) in {time.monotonic() - started:.1f} s")
