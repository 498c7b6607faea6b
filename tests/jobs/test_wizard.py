"""The wizard over HTTP, without JavaScript: steps, redirects, drafts, validation, generate."""

import re
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from jobs.models import Job, JobStatus, Journey, JourneyEvent, JourneyKind, WizardDraft
from jobs.pipeline import run as run_pipeline
from jobs.scaffolds import TEMPLATES
from tests.support.wizard import (
    as_post,
    bad_value,
    every_step_field,
    read_form,
    step_form,
    typed_step,
)

pytestmark = pytest.mark.django_db


def step_url(step: str) -> str:
    return reverse("jobs:wizard-step", args=[step])


def post_step(client: Client, step: str, values: dict[str, Any]) -> Any:
    return client.post(step_url(step), as_post(values))


def walk(client: Client, template: str = "token", upto: str = "review") -> dict[str, Any]:
    """Complete the steps before `upto`; return everything typed."""
    typed: dict[str, Any] = {}
    for step in ("basics", "template", "options"):
        if step == upto:
            break
        values = typed_step(step, template)
        response = post_step(client, step, values)
        assert response.status_code == 302, response
        typed |= values
    return typed


def the_draft() -> WizardDraft:
    return WizardDraft.objects.get()


def journey(kind: JourneyKind) -> list[JourneyEvent]:
    return list(JourneyEvent.objects.filter(kind=kind).order_by("created_at", "id"))


def test_a_cookieless_visit_writes_nothing_and_the_first_post_starts_the_draft_once(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == step_url("basics")
    page = client.get(step_url("basics"))
    assert page.status_code == 200
    assert read_form(page.content.decode()).values == {"name": "", "description": "", "author": ""}
    client.get("/")
    assert (Session.objects.count(), WizardDraft.objects.count(), JourneyEvent.objects.count()) == (
        0,
        0,
        0,
    )
    assert django_settings.SESSION_COOKIE_NAME not in client.cookies

    client.post(step_url("basics"), {"name": "Harbor Coin"})
    client.get("/")
    client.post(reverse("jobs:wizard-validate"), {"step": "basics", "name": "Harbor Coin!"})
    assert (Session.objects.count(), WizardDraft.objects.count()) == (1, 1)
    assert len(journey(JourneyKind.WIZARD_STARTED)) == 1


def test_many_cookieless_visits_count_no_visitor_in_the_funnel():
    for _ in range(50):  # each a new client, as a scanner or a crawler comes
        Client().get("/")
        Client().get(step_url("basics"))
    assert (Session.objects.count(), WizardDraft.objects.count(), JourneyEvent.objects.count()) == (
        0,
        0,
        0,
    )


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_walk_every_template_to_generate_lands_on_the_job_page(client, template):
    typed = walk(client, template)
    review = client.get(step_url("review"))
    assert review.status_code == 200
    assert "Harbor Coin" in review.content.decode() and TEMPLATES[template].label in (
        review.content.decode()
    )

    response = client.post(reverse("jobs:wizard-generate"), {"draft": the_draft().pk})

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "jobs:page", args=[job.pk]
    )
    assert client.get(response["Location"]).status_code == 200
    expected = step_form("options", template).fields
    assert job.template == template and job.name == "Harbor Coin"
    assert job.params["author"] == "Ada L."
    for name, field in expected.items():
        assert job.params[name] == field.clean(typed[name]), name
    draft = the_draft()
    assert draft.job == job and draft.step == "submitted"
    assert [e.step for e in journey(JourneyKind.STEP_COMPLETED)] == [
        "basics",
        "template",
        "options",
        "review",
    ]
    [submitted] = journey(JourneyKind.SUBMITTED)
    assert submitted.job == job and submitted.template == template


@pytest.mark.parametrize(("template", "step", "field"), every_step_field())
def test_a_bad_input_in_any_field_gives_its_error_and_keeps_everything_typed(
    client, template, step, field
):
    walk(client, template, upto=step)
    typed = typed_step(step, template)
    bad = bad_value(field, step_form(step, template).fields[field])
    sent = {**typed, field: bad}

    response = post_step(client, step, sent)

    assert response.status_code == 302 and response["Location"] == step_url(step)
    page = read_form(client.get(step_url(step)).content.decode())
    assert list(page.errors) == [field], page.errors
    assert all(message.strip() for message in page.errors[field])
    shown = {name: value for name, value in page.values.items() if name != field}
    expected = {name: value for name, value in typed.items() if name != field}
    assert shown == expected
    stored = the_draft().data
    kept = stored["options"][template] if step == "options" else stored[step]
    assert kept == {**typed, field: bad if not isinstance(typed[field], bool) else kept[field]}
    assert the_draft().step == step
    [error] = journey(JourneyKind.VALIDATION_ERROR)
    assert (error.step, error.field) == (step, field)
    assert bad not in {error.step, error.field, error.template}
    if isinstance(bad, str) and bad.strip():
        assert bad not in error.detail  # which rule was broken, never the value
    assert re.fullmatch(r"\w+: .+", error.detail), error.detail  # "code: the message shown"


def test_error_messages_say_exactly_what_is_wrong(client):
    post_step(client, "basics", {**typed_step("basics"), "name": "--"})
    page = read_form(client.get(step_url("basics")).content.decode())
    assert page.errors["name"] == [
        "A project name needs at least 3 characters; “--” has 2.",
        "A project name needs at least one visible letter or digit.",
    ]
    assert page.values["name"] == "--"


def test_a_refresh_at_any_step_keeps_every_input(client):
    typed = walk(client, "nft", upto="review")
    for step in ("basics", "template", "options"):
        page = read_form(client.get(step_url(step)).content.decode())
        assert page.errors == {}
        assert page.values == {k: typed[k] for k in step_form(step, "nft").fields}, step
    assert client.get("/")["Location"] == step_url("options")  # where the person last was


def test_typing_without_pressing_next_is_kept_by_autosave(client):
    walk(client, "token", upto="options")
    options = typed_step("options", "token")
    response = client.post(reverse("jobs:wizard-validate"), {**as_post(options), "step": "options"})
    assert response.json() == {"errors": {}}

    page = read_form(client.get(step_url("options")).content.decode())

    assert page.values == options and page.errors == {}
    assert the_draft().step == "options", "autosave does not move the person on"
    assert journey(JourneyKind.STEP_COMPLETED)[-1].step == "template"


def test_the_option_a_person_types_in_is_noted_once_each_time_it_changes(client):
    walk(client, "nft", upto="options")
    options = as_post(typed_step("options", "nft"))
    url = reverse("jobs:wizard-validate")
    for focus in ["symbol", "symbol", "symbol", "max_supply", "not_a_field", "symbol"]:
        assert client.post(url, {**options, "step": "options", "focus": focus}).status_code == 200

    edited = journey(JourneyKind.FIELD_EDITED)
    assert [e.field for e in sorted(edited, key=lambda e: e.pk)] == [
        "symbol",
        "max_supply",
        "symbol",
    ]
    assert {(e.step, e.template) for e in edited} == {("options", "nft")}
    journey_row = Journey.objects.get()
    assert (journey_row.last_step, journey_row.last_field) == ("options", "symbol")
    assert "focus" not in the_draft().data["options"]["nft"]


def test_autosaved_wrong_values_are_prefilled_without_errors_until_next(client):
    client.post(reverse("jobs:wizard-validate"), {"name": "1x", "step": "basics"})
    page = read_form(client.get(step_url("basics")).content.decode())
    assert page.values["name"] == "1x" and page.errors == {}


def test_a_step_that_cannot_be_reached_yet_sends_to_the_first_incomplete_one(client):
    assert client.get(step_url("options"))["Location"] == step_url("basics")
    walk(client, upto="template")
    assert client.get(step_url("review"))["Location"] == step_url("template")
    assert client.get(step_url("nope")).status_code == 404


def test_switching_templates_keeps_each_templates_options(client):
    walk(client, "token", upto="review")
    token_options = typed_step("options", "token")
    post_step(client, "template", {"template": "dao"})

    dao_page = read_form(client.get(step_url("options")).content.decode())
    assert dao_page.values["network"] == token_options["network"], "network follows along"
    assert dao_page.values["token_symbol"] == TEMPLATES["dao"].defaults()["token_symbol"]

    post_step(client, "template", {"template": "token"})
    token_page = read_form(client.get(step_url("options")).content.decode())
    assert token_page.values == token_options


def test_generate_twice_makes_one_job(client):
    walk(client)
    draft_id = the_draft().pk
    first = client.post(reverse("jobs:wizard-generate"), {"draft": draft_id})
    second = client.post(reverse("jobs:wizard-generate"), {"draft": draft_id})
    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 1
    assert client.get("/")["Location"] == step_url("basics"), "a new wizard starts afresh"
    assert WizardDraft.objects.count() == 1, "and is stored once something is sent"


def test_generate_with_someone_elses_or_a_malformed_draft_makes_no_job(client):
    walk(client)
    draft_id = the_draft().pk
    stranger = Client()
    assert stranger.post(reverse("jobs:wizard-generate"), {"draft": draft_id})[
        "Location"
    ] == step_url("basics")
    assert client.post(reverse("jobs:wizard-generate"), {"draft": "not-a-uuid"})[
        "Location"
    ] == step_url("basics")
    assert not Job.objects.exists()


def test_generate_sends_back_to_the_step_whose_values_went_wrong(client):
    walk(client)
    draft = the_draft()
    draft.data["options"]["token"]["decimals"] = "99"  # e.g. stale from an older rule
    draft.save()
    response = client.post(reverse("jobs:wizard-generate"), {"draft": draft.pk})
    assert response["Location"] == step_url("options")
    assert not Job.objects.exists()


def test_users_and_anonymous_sessions_have_their_own_drafts(client, owner):
    walk(client, upto="options")
    other = Client()
    other.force_login(owner)
    assert other.get("/")["Location"] == step_url("basics")
    assert read_form(other.get(step_url("basics")).content.decode()).values["name"] == ""
    assert WizardDraft.objects.filter(owner=owner).count() == 0  # until they send something


def test_review_only_shows_and_a_post_to_it_is_refused(client):
    walk(client)
    assert client.post(step_url("review")).status_code == 405


def test_reaching_the_review_is_a_funnel_stage_counted_once_however_often_it_is_shown(client):
    walk(client)
    for _ in range(3):
        assert client.get(step_url("review")).status_code == 200

    [reviewed] = [e for e in journey(JourneyKind.STEP_COMPLETED) if e.step == "review"]
    assert reviewed.template == "token"


def test_validate_returns_errors_for_the_fields_sent_only(client):
    url = reverse("jobs:wizard-validate")
    answer = client.post(url, {"name": "ok", "step": "basics"}).json()
    assert list(answer["errors"]) == ["name"]
    assert "at least 3 characters" in answer["errors"]["name"][0]
    assert client.post(url, {"name": "Fine Name", "step": "basics"}).json() == {"errors": {}}
    answer = client.post(url, {"template": "token", "decimals": "40"}).json()
    assert list(answer["errors"]) == ["decimals"]
    assert client.get(url).status_code == 405


def test_validate_keeps_csrf_protection(owner):
    client = Client(enforce_csrf_checks=True)
    url = reverse("jobs:wizard-validate")
    assert client.post(url, {"name": "Fine Name", "step": "basics"}).status_code == 403
    client.get(step_url("basics"))  # the page sets the csrftoken cookie
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = client.post(url, {"name": "x", "step": "basics"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "name" in response.json()["errors"]


def test_step_pages_use_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    post_step(client, "basics", typed_step("basics"))  # session and draft exist from here on
    with django_assert_max_num_queries(3):  # session, draft, remember the step
        assert client.get(step_url("basics")).status_code == 200
    # The journey: a savepoint around the event and its journey (read, then write).
    with django_assert_max_num_queries(8):  # session, draft, save, journey
        post_step(client, "basics", typed_step("basics"))
    walk(client, upto="review")
    with django_assert_max_num_queries(9):  # the first time, also: note it, journey
        assert client.get(step_url("review")).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(step_url("review")).status_code == 200
    with django_assert_max_num_queries(3):
        client.post(reverse("jobs:wizard-validate"), {"name": "Fine", "step": "basics"})


def test_the_pages_work_without_javascript(client):
    page = client.get(step_url(client.get("/")["Location"].split("/")[-2])).content.decode()
    assert 'method="post"' in page and 'action="/wizard/basics/"' in page
    assert "<script" not in re.sub(
        r'<script nonce="[^"]+" src="/static/composer/wizard.js"', "", page
    )
    walk(client)
    review = client.get(step_url("review")).content.decode()
    assert 'action="/wizard/generate/"' in review and "wizard.js" not in review


def test_cancelling_a_finished_job_says_there_was_nothing_to_cancel(client, settings):
    settings.JOBS_STEP_PACE_S = 0
    walk(client)
    client.post(reverse("jobs:wizard-generate"), {"draft": the_draft().pk})
    job = Job.objects.get()
    run_pipeline(job_id=job.pk)
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "Nothing to cancel: this job had already succeeded." in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_cancelling_a_queued_job_cancels_it_without_a_message(client):
    walk(client)
    client.post(reverse("jobs:wizard-generate"), {"draft": the_draft().pk})
    job = Job.objects.get()
    response = client.post(reverse("jobs:cancel", args=[job.pk]), follow=True)
    assert "Nothing to cancel" not in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
