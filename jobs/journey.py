"""Record the developer journey cheaply and without personal data."""

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from jobs.access import visitor_id
from jobs.journey_rollup import journey_fold
from jobs.models import Job, JourneyEvent, JourneyKind
from realtime.api import hit

logger = logging.getLogger(__name__)

DETAIL_MAX = 200
"""The most of a detail (an error seen) a journey event keeps."""
_QUOTED = re.compile(r"“[^”]*”")
_PARAMETER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")


def journey_record(
    *,
    kind: JourneyKind,
    visitor: str,
    step: str = "",
    field: str = "",
    template: str = "",
    detail: str = "",
    job: Job | None = None,
    address: str = "",
) -> None:
    """Store one journey event and fold it into its journey; a failure is logged, never shown
    to the person.

    Events of a request carry its client `address`: past JOBS_JOURNEY_RATE_PER_ADDRESS a
    minute they are not stored (the table would grow as fast as anyone can post).
    """
    if (
        address
        and not hit(
            scope="journey:addr", key=address, limit=settings.JOBS_JOURNEY_RATE_PER_ADDRESS
        ).allowed
    ):
        logger.info("journey event %s not recorded: over the rate of its address", kind)
        return
    try:
        with transaction.atomic():
            event = JourneyEvent.objects.create(
                kind=kind,
                visitor=visitor,
                step=step[:32],
                field=field[:64],
                template=template[:64],
                detail=detail[:DETAIL_MAX],
                job=job,
            )
            journey_fold(event)
    except DatabaseError:
        logger.exception("journey event %s not recorded", kind)


def journey_record_job(*, job: Job, kind: JourneyKind, step: str = "", detail: str = "") -> None:
    """Store a journey event about a job, attributed to the job's owner."""
    journey_record(
        kind=kind,
        visitor=visitor_id(user_id=job.owner_id, anon_owner=job.anon_owner),
        template=job.template,
        step=step,
        detail=detail,
        job=job,
    )


def error_detail(error: ValidationError) -> str:
    """Return what a validation error said, as "code: message", without what was typed.

    A message names the person's value through its parameters (a number too small) or in
    “…” quotes (text): both are left out, so that the journey keeps which rule was broken and
    never the value.
    """
    message = str(getattr(error, "message", "") or next(iter(error), ""))
    if getattr(error, "params", None):
        message = _PARAMETER.sub("…", message).replace("%%", "%")
    message = _QUOTED.sub("“…”", message)
    return f"{error.code or 'invalid'}: {message}"[:DETAIL_MAX]
