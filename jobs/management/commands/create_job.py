import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import services


class Command(BaseCommand):
    help = "Create a job (visible to staff only) and print its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--template", default="token")
        parser.add_argument("--params", default="{}", help="Extra parameters as a JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            extra = json.loads(options["params"])
            job = services.job_create(
                owner=None,
                params={**extra, "name": options["name"], "template": options["template"]},
            )
        except (ValueError, services.InvalidJobParams) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(job.pk))
