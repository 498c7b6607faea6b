"""Draft services: the current draft, saving steps, autosave, submit once, purge."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import drafts
from jobs.access import Identity
from jobs.models import Job, JourneyEvent, JourneyKind, WizardDraft
from tests.support.wizard import as_post, typed_step

pytestmark = pytest.mark.django_db

ANON = Identity(user_id=None, anon_owner="anon-1")


def kinds() -> list[str]:
    return list(JourneyEvent.objects.order_by("id").values_list("kind", flat=True))


def complete(draft: WizardDraft, template: str = "token") -> None:
    for step in drafts.FORM_STEPS:
        assert (
            drafts.draft_save_step(draft=draft, step=step, data=as_post(typed_step(step, template)))
            != step
        )


def test_the_current_draft_is_created_once_per_person(owner):
    first = drafts.draft_get_or_create(creator=ANON)
    assert drafts.draft_get_or_create(creator=ANON) == first
    user = Identity.of(owner)
    other = drafts.draft_get_or_create(creator=user)
    assert other != first and other.owner == owner and other.anon_owner == ""
    assert drafts.draft_get_or_create(creator=Identity(user_id=None, anon_owner="anon-2")) not in {
        first,
        other,
    }
    assert kinds() == [JourneyKind.WIZARD_STARTED] * 3
    assert len(set(JourneyEvent.objects.values_list("visitor", flat=True))) == 3


def test_a_valid_step_moves_on_and_is_journeyed_as_completed():
    draft = drafts.draft_get_or_create(creator=ANON)
    assert (
        drafts.draft_save_step(draft=draft, step="basics", data=as_post(typed_step("basics")))
        == "template"
    )
    draft.refresh_from_db()
    assert draft.step == "template" and draft.data["basics"] == typed_step("basics")
    assert kinds()[-1] == JourneyKind.STEP_COMPLETED


def test_an_invalid_step_stays_keeps_what_was_typed_and_journeys_field_names_only():
    draft = drafts.draft_get_or_create(creator=ANON)
    sent = {"name": "\u3164secret", "description": "kept", "author": "x" * 200}
    assert drafts.draft_save_step(draft=draft, step="basics", data=sent) == "basics"
    draft.refresh_from_db()
    assert draft.data["basics"] == sent and draft.data["checked"] == ["basics"]
    errors = JourneyEvent.objects.filter(kind=JourneyKind.VALIDATION_ERROR)
    assert sorted(errors.values_list("field", flat=True)) == ["author", "name"]
    assert not JourneyEvent.objects.filter(field__contains="secret").exists()


def test_a_draft_keeps_at_most_a_thousand_characters_of_a_value():
    draft = drafts.draft_get_or_create(creator=ANON)
    drafts.draft_save_step(draft=draft, step="basics", data={"name": "n" * 5000})
    draft.refresh_from_db()
    assert draft.data["basics"]["name"] == "n" * drafts.MAX_TYPED_CHARS


def test_the_page_of_an_unreachable_step_is_the_first_incomplete_one():
    draft = drafts.draft_get_or_create(creator=ANON)
    assert drafts.draft_page(draft=draft, step="review").step == "basics"
    complete(draft)
    page = drafts.draft_page(draft=draft, step="review")
    assert page.step == "review" and page.form is None
    assert [s["step"] for s in page.summary] == ["basics", "template", "options"]
    assert ("Decimals", "1") in page.summary[2]["rows"]


def test_resume_returns_where_the_person_was_if_they_may_be_there():
    draft = drafts.draft_get_or_create(creator=ANON)
    complete(draft)
    drafts.draft_page(draft=draft, step="template")
    draft.refresh_from_db()
    assert drafts.draft_resume_step(draft=draft) == "template"
    draft.data["basics"]["name"] = "x"  # no longer valid
    assert drafts.draft_resume_step(draft=draft) == "basics"


def test_check_without_a_step_validates_without_a_draft():
    errors = drafts.draft_check(creator=ANON, data={"name": "ab", "template": "token"})
    assert list(errors) == ["name"]
    assert not WizardDraft.objects.exists()


def test_check_with_a_step_autosaves_without_checking_or_moving_on():
    errors = drafts.draft_check(creator=ANON, data={"step": "basics", "name": "ab"})
    assert list(errors) == ["name"]
    draft = WizardDraft.objects.get()
    assert draft.data["basics"]["name"] == "ab" and "checked" not in draft.data
    assert draft.step == "basics"
    assert JourneyKind.VALIDATION_ERROR not in kinds()


def test_submit_creates_one_job_and_journeys_it():
    draft = drafts.draft_get_or_create(creator=ANON)
    complete(draft, "dao")
    first = drafts.draft_submit(creator=ANON, draft_id=str(draft.pk))
    again = drafts.draft_submit(creator=ANON, draft_id=str(draft.pk))
    assert first.job is not None and again.job == first.job
    job = Job.objects.get()
    assert job.anon_owner == "anon-1" and job.owner is None and job.template == "dao"
    assert kinds().count(JourneyKind.SUBMITTED) == 1
    assert drafts.draft_get_or_create(creator=ANON) != draft


def test_submit_of_an_incomplete_draft_names_the_step_to_fix():
    draft = drafts.draft_get_or_create(creator=ANON)
    drafts.draft_save_step(draft=draft, step="basics", data=as_post(typed_step("basics")))
    assert drafts.draft_submit(creator=ANON, draft_id=str(draft.pk)).step == "template"
    assert drafts.draft_submit(creator=ANON, draft_id="nope").job is None
    other = Identity(user_id=None, anon_owner="anon-2")
    complete(draft)
    assert drafts.draft_submit(creator=other, draft_id=str(draft.pk)).job is None
    assert not Job.objects.exists()


def test_purge_deletes_abandoned_and_submitted_drafts_only():
    now = timezone.now()
    fresh = drafts.draft_get_or_create(creator=ANON)
    old = WizardDraft.objects.create(anon_owner="old")
    done = WizardDraft.objects.create(anon_owner="done", step=drafts.SUBMITTED)
    recently_done = WizardDraft.objects.create(anon_owner="recent", step=drafts.SUBMITTED)
    WizardDraft.objects.filter(pk=old.pk).update(updated_at=now - timedelta(days=15))
    WizardDraft.objects.filter(pk=done.pk).update(updated_at=now - timedelta(hours=25))

    out = StringIO()
    call_command("purge_drafts", stdout=out)

    assert out.getvalue().strip() == "deleted 2 draft(s)"
    assert set(WizardDraft.objects.values_list("pk", flat=True)) == {fresh.pk, recently_done.pk}
    assert drafts.drafts_purge(abandoned_after=timedelta(0), submitted_after=timedelta(0)) == 2
