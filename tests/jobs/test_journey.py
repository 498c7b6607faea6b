"""The developer journey's events: stored cheaply, bounded per address, without what was typed."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from jobs.access import visitor_id
from jobs.journey import DETAIL_MAX, error_detail, journey_record, journey_record_job
from jobs.models import Job, Journey, JourneyEvent, JourneyKind
from tests.support.ratelimits import clear_rate_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    clear_rate_limits()


def test_an_event_is_stored_with_its_fields_bounded_and_folded_into_its_journey():
    journey_record(kind=JourneyKind.WIZARD_STARTED, visitor="v1", step="s" * 40, detail="d" * 999)

    event = JourneyEvent.objects.get()
    assert (event.visitor, len(event.step), len(event.detail)) == ("v1", 32, DETAIL_MAX)
    assert Journey.objects.filter(visitor="v1").exists()


def test_a_job_s_event_is_attributed_to_the_job_s_owner(owner):
    job = Job.objects.create(name="Owned Coin", template="token", owner=owner)

    journey_record_job(job=job, kind=JourneyKind.JOB_SUCCEEDED)

    event = JourneyEvent.objects.get()
    assert event.visitor == visitor_id(user_id=owner.pk, anon_owner="")
    assert (event.job, event.template) == (job, "token")


def test_journey_records_past_the_rate_of_an_address_are_dropped_not_the_person(settings):
    settings.JOBS_JOURNEY_RATE_PER_ADDRESS = 5
    client = Client(REMOTE_ADDR="198.51.100.20")
    basics = reverse("jobs:wizard-step", args=["basics"])
    # Each wrong Next records the wrong fields: an endless source of rows without a bound.
    answers = [client.post(basics, {"name": ""}) for _ in range(10)]
    assert {a.status_code for a in answers} == {302}
    assert JourneyEvent.objects.count() == 5
    Client(REMOTE_ADDR="198.51.100.21").post(basics, {"name": "Visitor Coin"})
    assert JourneyEvent.objects.count() == 7, "another address records its own"


def test_an_error_detail_keeps_the_rule_broken_and_never_the_value():
    typed = ValidationError(
        "Ensure this value is at most %(limit_value)s.", code="max_value", params={"limit_value": 9}
    )
    quoted = ValidationError("“secret name” is taken.", code="taken")

    assert error_detail(typed) == "max_value: Ensure this value is at most …."
    assert error_detail(quoted) == "taken: “…” is taken."
    assert error_detail(ValidationError("Bad.")) == "invalid: Bad."
