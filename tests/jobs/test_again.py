"""A failed or cancelled job, tried again: as it was, or with its options edited in the wizard;
and the page a visitor gets for a job that is not theirs."""

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse

from jobs import services
from jobs.access import ANON_OWNER_KEY
from jobs.models import Job, JobStatus, Journey, JourneySource, WizardDraft
from tests.jobs.test_views import _stream
from tests.support.failures import PRICE, unaffordable_nft
from tests.support.jobs import succeeded_job

pytestmark = pytest.mark.django_db(transaction=True)

NFT = unaffordable_nft()
NO_FUNDS = "Generation failed: ToolchainError: Error: sender doesn't have enough funds to send tx"


def _failed(owner, params=NFT) -> Job:
    job = services.job_create(owner=owner, params=params)
    services.job_start(job=job)
    services.job_fail(job=job, error=NO_FUNDS)
    job.refresh_from_db()
    return job


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_run_again_starts_the_same_options_as_a_new_attempt_of_the_owner(owner):
    failed = _failed(owner)
    response = _login(owner).post(reverse("jobs:again", args=[failed.pk]))

    again = Job.objects.exclude(pk=failed.pk).get()
    assert response["Location"] == reverse("jobs:page", args=[again.pk])
    assert again.params == failed.params and again.owner == owner and again.retry_of == failed
    assert again.status == JobStatus.QUEUED
    assert Journey.objects.get(job=again).source == JourneySource.AGAIN


def test_a_cancelled_job_runs_again_and_an_anonymous_owner_may_too():
    client = Client()
    session = client.session
    session[ANON_OWNER_KEY] = "anon-again"
    session.save()
    job = services.job_create(owner=None, params=NFT, anon_owner="anon-again")
    services.job_request_cancel(job=job)

    assert client.post(reverse("jobs:again", args=[job.pk])).status_code == 302
    assert Job.objects.filter(retry_of=job, anon_owner="anon-again").exists()


def test_only_the_owner_may_and_only_once_the_job_failed_or_was_cancelled(
    owner, staff_user, django_user_model
):
    failed, done = _failed(owner), succeeded_job(owner=owner)
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    for client in (Client(), _login(stranger), _login(staff_user)):  # staff see, not start
        for name in ("again", "edit"):
            assert client.post(reverse(f"jobs:{name}", args=[failed.pk])).status_code == 404
    for name in ("again", "edit"):
        assert _login(owner).post(reverse(f"jobs:{name}", args=[done.pk])).status_code == 404
        assert _login(owner).get(reverse(f"jobs:{name}", args=[failed.pk])).status_code == 405
    assert Job.objects.count() == 2


def test_running_again_is_held_to_the_unfinished_jobs_cap_and_says_so(owner, settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 1
    failed = _failed(owner)
    services.job_create(owner=owner, params=NFT)  # one unfinished already
    client = _login(owner)

    response = client.post(reverse("jobs:again", args=[failed.pk]), follow=True)

    assert response.redirect_chain[0][0] == reverse("jobs:page", args=[failed.pk])
    assert "Not started: You already have 1 unfinished jobs" in response.content.decode()
    assert not Job.objects.filter(retry_of=failed).exists()


def test_edit_opens_the_wizard_with_the_options_filled_in_at_the_option_to_change(owner):
    failed = _failed(owner)
    client = _login(owner)

    response = client.post(reverse("jobs:edit", args=[failed.pk]))

    assert response["Location"] == reverse("jobs:wizard-step", args=["options"]) + f"#id_{PRICE}"
    draft = WizardDraft.objects.get(owner=owner)
    assert draft.data["basics"]["name"] == "Pricey Apes"
    assert draft.data["options"]["nft"][PRICE] == NFT[PRICE]
    page = client.get(response["Location"]).content.decode()
    assert f'name="{PRICE}"' in page and "Mint price" in page
    assert "the mint price is more than a test account holds (1,000,000 ETH)" in page
    # The wizard itself refuses that price (it is above what its form allows), so the review
    # waits until the option is changed: the person lands where the change is to be made.
    review = client.get(reverse("jobs:wizard-step", args=["review"]))
    assert review["Location"] == reverse("jobs:wizard-step", args=["options"])
    assert Journey.objects.filter(source=JourneySource.EDIT).count() == 1


def test_a_job_the_visitor_may_not_see_gets_a_page_that_says_why_the_same_as_a_missing_one(
    owner, django_user_model
):
    theirs = _failed(owner)
    missing = "00000000-0000-0000-0000-000000000000"
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    for client, words in [(Client(), "sign in"), (_login(stranger), "signed in as")]:
        pages = [client.get(reverse("jobs:page", args=[key])) for key in (theirs.pk, missing)]
        assert {page.status_code for page in pages} == {404}
        bodies = [page.content.decode().replace(str(theirs.pk), missing) for page in pages]
        assert bodies[0] == bodies[1], "the page must not tell whether the job exists"
        assert "This job is not available to you" in bodies[0] and words in bodies[0]
        assert "browser you made it in" in bodies[0]
        assert "no-store" in pages[0]["Cache-Control"]


def test_the_api_and_the_stream_still_answer_a_plain_404_to_strangers(owner):
    theirs = _failed(owner)
    status = Client().get(reverse("jobs:status", args=[theirs.pk]))
    assert status.status_code == 404 and status["Content-Type"] == "application/json"
    code, _ = _stream(AsyncClient(), reverse("jobs:events", args=[theirs.pk]))
    assert code == 404
