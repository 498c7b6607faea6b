"""Wizard drafts: what a person typed, kept server-side for their user or anonymous session.

A draft holds, per step, the values exactly as typed (wrong ones too) so a refresh, the back
button or a new tab never loses anything. A step the person pressed Next on is shown bound to
its values, with their errors; a step they only typed into (autosave) is shown prefilled.
Options are kept per template, so switching templates back and forth loses nothing either.
"""

import json
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jobs import services
from jobs.access import Identity, visitor_id
from jobs.forms import (
    BASICS,
    BasicsForm,
    EtherField,
    JobParamsForm,
    OptionsForm,
    TemplateForm,
    error_lists,
    typed_values,
)
from jobs.journey import error_detail, journey_record
from jobs.journey_rollup import EDIT_DETAIL
from jobs.models import Job, JourneyKind, WizardDraft
from jobs.scaffolds import TEMPLATES

FORM_STEPS = ("basics", "template", "options")
STEPS = (*FORM_STEPS, "review")
STEP_LABELS = {
    "basics": "Project basics",
    "template": "Template",
    "options": "Options",
    "review": "Review",
}
SUBMITTED = "submitted"
"""The `step` of a draft that became a job; it is no longer anyone's current draft."""
MAX_TYPED_CHARS = 1000
"""The most of one typed value a draft keeps."""
_CARRIED_OPTIONS = ("network", "frontend")
"""Options that follow the person to another template's options step."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NavItem:
    """One step in the wizard's step list."""

    key: str
    """The step."""
    label: str
    """What the list shows."""
    state: str
    """done, current or todo."""
    reachable: bool
    """Whether the person may go there now."""


@dataclass(frozen=True, kw_only=True, slots=True)
class WizardPage:
    """Everything a step's template shows."""

    step: str
    """The step shown: the one asked for, or the first one still to complete."""
    title: str
    """The step's heading."""
    form: forms.Form | None
    """The step's form (None on the review)."""
    nav: list[NavItem]
    """The step list."""
    back_step: str | None
    """Where the Back link goes."""
    draft_id: uuid.UUID
    """The draft, for the review's Generate button."""
    summary: list[dict[str, Any]]
    """On the review: sections of (label, value) rows, each with the step that edits it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Submission:
    """The outcome of pressing Generate."""

    job: Job | None
    """The job the draft became (also on a second press), or None."""
    step: str
    """Without a job: the step that needs fixing."""


def _drafts_of(creator: Identity) -> QuerySet[WizardDraft]:
    return WizardDraft.objects.filter(creator.owns)


class DraftTooLarge(ValueError):
    """What was sent would make the draft larger than JOBS_DRAFT_MAX_BYTES."""


def draft_find(*, creator: Identity) -> WizardDraft | None:
    """Return the person's current draft, if they have one (never writes)."""
    if creator.user_id is None and not creator.anon_owner:
        return None  # no session yet: nobody's draft, and nothing to look up
    found: WizardDraft | None = (
        _drafts_of(creator).exclude(step=SUBMITTED).order_by("-updated_at").first()
    )
    return found


def draft_blank() -> WizardDraft:
    """Return an empty draft that is not stored: what a first visit shows, writing nothing."""
    return WizardDraft(data={})


def draft_typed(*, step: str, data: Mapping[str, Any]) -> WizardDraft:
    """Return a draft that is not stored holding what was just sent for `step`: the page shown
    when it could not be kept, so that nothing typed is lost from the screen."""
    draft = draft_blank()
    with suppress(DraftTooLarge):
        _store(draft, step, typed_values(_form(draft, step, data=data), data))
    return draft


def draft_get_or_create(*, creator: Identity, address: str = "") -> WizardDraft:
    """Return the person's current draft, starting one (and their journey) if they have none;
    the journey's events are rate-limited by the client `address`."""
    draft = draft_find(creator=creator)
    if draft is None:
        draft = WizardDraft.objects.create(**creator.owner_columns)
        journey_record(kind=JourneyKind.WIZARD_STARTED, visitor=creator.visitor, address=address)
    return draft


def _template_key(draft: WizardDraft) -> str:
    return str((draft.data.get("template") or {}).get("template") or "")


def _journey_template(draft: WizardDraft, step: str) -> str:
    """Return the template a journey event of `step` names: a real one, never what was typed."""
    key = _template_key(draft)
    return key if step != "basics" and key in TEMPLATES else ""


def _values(draft: WizardDraft, step: str) -> dict[str, Any] | None:
    if step == "options":
        found = draft.data.get("options", {}).get(_template_key(draft))
    else:
        found = draft.data.get(step)
    return dict(found) if found is not None else None


def _store(draft: WizardDraft, step: str, values: dict[str, Any]) -> None:
    # Every rule allows far less; the cap only keeps a pasted novel out of the database.
    # PostgreSQL's jsonb cannot hold U+0000: it is kept as U+FFFD, still refused by the form.
    values = {
        k: v[:MAX_TYPED_CHARS].replace("\x00", "\ufffd") if isinstance(v, str) else v
        for k, v in values.items()
    }
    if step == "options":
        if _template_key(draft) not in TEMPLATES:
            return  # options of a template that does not exist would only grow the draft
        draft.data.setdefault("options", {})[_template_key(draft)] = values
    else:
        draft.data[step] = values
    size = len(json.dumps(draft.data, ensure_ascii=False).encode())
    if size > settings.JOBS_DRAFT_MAX_BYTES:
        raise DraftTooLarge(
            f"What you typed is too long to keep: the draft would take {size:,} "
            f"bytes, at most {settings.JOBS_DRAFT_MAX_BYTES:,}. Shorten it."
        )


def _form(
    draft: WizardDraft,
    step: str,
    *,
    data: Mapping[str, Any] | None = None,
    initial: Mapping[str, Any] | None = None,
) -> forms.Form:
    if step == "basics":
        return BasicsForm(data=data, initial=initial)
    if step == "template":
        return TemplateForm(data=data, initial=initial)
    return OptionsForm(data=data, initial=initial, template=_template_key(draft))


def draft_step_form(*, draft: WizardDraft, step: str) -> forms.Form:
    """Return a step's form: bound (errors shown) once Next was pressed on it, else prefilled."""
    values = _values(draft, step)
    if values is not None and step in draft.data.get("checked", []):
        return _form(draft, step, data=values)
    if values is None and step == "options":
        values = _carried_options(draft)
    return _form(draft, step, initial=values)


def _carried_options(draft: WizardDraft) -> dict[str, Any] | None:
    earlier = list(draft.data.get("options", {}).values())
    if not earlier:
        return None
    template = TEMPLATES.get(_template_key(draft))
    defaults = template.defaults() if template else {}
    return {**defaults, **{k: earlier[-1][k] for k in _CARRIED_OPTIONS if k in earlier[-1]}}


def draft_reachable_step(*, draft: WizardDraft) -> str:
    """Return the first step whose values are missing or wrong ("review" when none)."""
    for step in FORM_STEPS:
        values = _values(draft, step)
        if values is None or not _form(draft, step, data=values).is_valid():
            return step
    return "review"


def draft_resume_step(*, draft: WizardDraft) -> str:
    """Return the step the person was at, or the first one they still have to complete."""
    reachable = draft_reachable_step(draft=draft)
    if draft.step in STEPS and STEPS.index(draft.step) < STEPS.index(reachable):
        return draft.step
    return reachable


def draft_page(*, draft: WizardDraft, step: str) -> WizardPage:
    """Return what a step shows, or the first incomplete step if that one is out of reach.

    The step shown is remembered as where the person is, for resuming later.
    """
    reachable = draft_reachable_step(draft=draft)
    if STEPS.index(step) > STEPS.index(reachable):
        step = reachable
    if draft.step != step and not draft._state.adding:  # a blank draft is not stored
        draft.step = step
        WizardDraft.objects.filter(pk=draft.pk).update(step=step, updated_at=timezone.now())
    nav = [
        NavItem(
            key=key,
            label=STEP_LABELS[key],
            reachable=i <= STEPS.index(reachable),
            state="current" if key == step else "done" if i < STEPS.index(reachable) else "todo",
        )
        for i, key in enumerate(STEPS)
    ]
    index = STEPS.index(step)
    return WizardPage(
        step=step,
        title=_title(draft, step),
        nav=nav,
        draft_id=draft.pk,
        form=None if step == "review" else draft_step_form(draft=draft, step=step),
        back_step=STEPS[index - 1] if index else None,
        summary=_summary(draft_params_form(draft=draft)) if step == "review" else [],
    )


def draft_note_reviewed(*, draft: WizardDraft, address: str = "") -> None:
    """Note in the journey, once per draft, that the person reached the review.

    The review has no form to complete: reaching it is its stage of the funnel (pressing
    Generate is the next one, "submitted"), so the funnel shows who looked and left.
    """
    if draft.data.get("reviewed"):
        return
    draft.data["reviewed"] = True
    draft.save(update_fields=["data", "updated_at"])
    journey_record(
        kind=JourneyKind.STEP_COMPLETED,
        step="review",
        visitor=visitor_id(user_id=draft.owner_id, anon_owner=draft.anon_owner),
        template=_template_key(draft),
        address=address,
    )


def _title(draft: WizardDraft, step: str) -> str:
    template = TEMPLATES.get(_template_key(draft))
    if step == "options" and template is not None:
        return f"{template.label} options"
    return {
        "basics": "Tell us about your project",
        "template": "Pick a template",
        "review": "Review and generate",
    }.get(step, STEP_LABELS[step])


def _summary(form: JobParamsForm) -> list[dict[str, Any]]:
    if not form.is_valid():
        return []
    sections: dict[str, list[tuple[str, str]]] = {step: [] for step in FORM_STEPS}
    for name, field in form.fields.items():
        step = "basics" if name in BASICS else "template" if name == "template" else "options"
        sections[step].append((str(field.label), _shown(field, form.cleaned_data[name])))
    return [
        {"step": step, "label": STEP_LABELS[step], "rows": rows} for step, rows in sections.items()
    ]


def _shown(field: forms.Field, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(field, EtherField):
        return field.shown(value)
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))  # type: ignore[arg-type]
    if isinstance(value, int):
        return f"{value:,}"
    return str(value) if value != "" else "—"


def draft_save_step(
    *, draft: WizardDraft, step: str, data: Mapping[str, Any], address: str = ""
) -> str:
    """Keep what was sent for a step (right or wrong); return the step to show next.

    Valid: the journey notes the step completed and the person moves on. Invalid: the journey
    notes which fields were wrong and the error each showed (never the values) and the person
    stays.
    """
    form = _form(draft, step, data=data)
    _store(draft, step, typed_values(form, data))
    draft.data["checked"] = sorted({*draft.data.get("checked", []), step})
    valid = form.is_valid()
    draft.step = STEPS[STEPS.index(step) + 1] if valid else step
    draft.save(update_fields=["data", "step", "updated_at"])
    visitor = visitor_id(user_id=draft.owner_id, anon_owner=draft.anon_owner)
    if valid:
        journey_record(
            kind=JourneyKind.STEP_COMPLETED,
            visitor=visitor,
            step=step,
            template=_journey_template(draft, step),
            address=address,
        )
    for field, errors in form.errors.as_data().items():
        journey_record(
            kind=JourneyKind.VALIDATION_ERROR,
            visitor=visitor,
            step=step,
            field=field,
            template=_journey_template(draft, step),
            detail=error_detail(errors[0]),
            address=address,
        )
    return draft.step


def draft_check(
    *, creator: Identity, data: Mapping[str, Any], address: str = ""
) -> dict[str, list[str]]:
    """Return the errors of the fields sent, checked by the form the server uses on submit.

    With a wizard `step`, what was typed is also kept in the draft (autosave), without moving
    the person on, and `focus` (the field last typed into) is noted in the journey when it
    changes: where a person stops is the option they were on. Errors seen while typing are not
    journey events: they would count keystrokes; the dashboard counts the errors met on Next.
    """
    sent = set(data) - {"step", "csrfmiddlewaretoken", FOCUS}
    step = data.get("step")
    if step not in FORM_STEPS:
        return error_lists(JobParamsForm(data).errors, only=sent)
    draft = draft_get_or_create(creator=creator, address=address)
    form = _form(draft, str(step), data=data)
    _store(draft, str(step), typed_values(form, data))
    focus = _note_focus(draft, str(step), str(data.get(FOCUS, "")), form)
    draft.save(update_fields=["data", "updated_at"])
    if focus:
        journey_record(
            kind=JourneyKind.FIELD_EDITED,
            visitor=creator.visitor,
            step=str(step),
            field=focus,
            template=_journey_template(draft, str(step)),
        )
    return error_lists(form.errors, only=sent)


FOCUS = "focus"
"""The autosave's parameter naming the field last typed into."""


def _note_focus(draft: WizardDraft, step: str, focus: str, form: forms.Form) -> str:
    """Return `focus` if it is a field of the step other than the one noted last, noting it."""
    if focus not in form.fields or draft.data.get(FOCUS) == f"{step}:{focus}":
        return ""
    draft.data[FOCUS] = f"{step}:{focus}"
    return focus


def draft_params_form(*, draft: WizardDraft) -> JobParamsForm:
    """Return the whole job's form, bound to every step's values."""
    values = {
        **(_values(draft, "basics") or {}),
        **(_values(draft, "template") or {}),
        **(_values(draft, "options") or {}),
    }
    return JobParamsForm(values)


def draft_submit(
    *, creator: Identity, draft_id: str, admission: services.Admission | None = None
) -> Submission:
    """Turn the person's draft into a job, once: a second press returns the same job.

    A job refused by admission (services.AdmissionRefused) leaves the draft as it was.
    """
    try:
        pk = uuid.UUID(draft_id)
    except ValueError:
        return Submission(job=None, step="basics")
    with transaction.atomic():
        draft = _drafts_of(creator).select_for_update().filter(pk=pk).first()
        if draft is None or draft.step == SUBMITTED:
            return Submission(job=draft.job if draft else None, step="basics")
        form = draft_params_form(draft=draft)
        if not form.is_valid():
            return Submission(job=None, step=_step_of(next(iter(form.errors))))
        job = services.job_create(owner=creator, params=form.cleaned_data, admission=admission)
        draft.job, draft.step = job, SUBMITTED
        draft.save(update_fields=["job", "step", "updated_at"])
    # Outside the transaction: a journey that fails to record must not undo the job.
    journey_record(
        kind=JourneyKind.SUBMITTED,
        visitor=creator.visitor,
        step="review",
        template=job.template,
        job=job,
        address=admission.address if admission else "",
    )
    return Submission(job=job, step=SUBMITTED)


def draft_from_job(*, creator: Identity, job: Job) -> WizardDraft:
    """Start a draft holding a job's options (every step filled in and checked), to edit and
    generate again; it becomes the person's current draft and begins a new journey."""
    basics = {key: job.params.get(key, "") for key in BASICS}
    options = {k: v for k, v in job.params.items() if k not in {*BASICS, "template"}}
    draft = WizardDraft.objects.create(
        **creator.owner_columns,
        step="options",
        data={
            "basics": basics,
            "template": {"template": job.template},
            "options": {job.template: options},
            "checked": list(FORM_STEPS),
        },
    )
    journey_record(
        kind=JourneyKind.WIZARD_STARTED,
        visitor=creator.visitor,
        template=job.template,
        detail=EDIT_DETAIL,
    )
    return draft


def _step_of(field: str) -> str:
    return "basics" if field in BASICS else "template" if field == "template" else "options"


def drafts_purge(*, abandoned_after: timedelta, submitted_after: timedelta) -> int:
    """Delete drafts untouched for `abandoned_after`, and submitted ones after
    `submitted_after`; return how many were deleted."""
    now = timezone.now()
    stale = Q(updated_at__lt=now - abandoned_after) | Q(
        step=SUBMITTED, updated_at__lt=now - submitted_after
    )
    deleted, _ = WizardDraft.objects.filter(stale).delete()
    return deleted
