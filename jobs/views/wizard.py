"""HTTP glue for the wizard: plain forms and redirects (post/redirect/get), no JavaScript needed.

wizard.js only adds real-time validation and autosave through `wizard_validate`.

A visit writes nothing until the person sends something: a GET finds their draft if they
have one, and shows a blank one (not stored) if not. The session, the draft and the journey's
`wizard_started` begin with the first POST (a step's Next, or autosave through validate).
"""

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import drafts, services
from jobs.access import TooManyVisitors, identity_now
from jobs.models import WizardDraft
from realtime.api import client_address

# A draft is one person's: no shared cache, nor the browser's disk, may keep its pages.
NOT_STORED = cache_control(private=True, no_store=True)

TEMPLATE_NAMES = {
    "basics": "wizard/step.html",
    "template": "wizard/template.html",
    "options": "wizard/step.html",
    "review": "wizard/review.html",
}


@NOT_STORED
@require_GET
def wizard_home(request: HttpRequest) -> HttpResponse:
    """Resume the person's draft where they left it (without one, start at the basics)."""
    draft = drafts.draft_find(creator=identity_now(request))
    step = drafts.draft_resume_step(draft=draft) if draft is not None else drafts.STEPS[0]
    return redirect("jobs:wizard-step", step=step)


@NOT_STORED
@require_http_methods(["GET", "POST"])
def wizard_step(request: HttpRequest, step: str) -> HttpResponse:
    """Show a step of the wizard; on POST, keep what was sent and go to the next step or back."""
    if step not in drafts.STEPS:
        raise Http404("No such step.")
    if request.method == "POST":
        if step not in drafts.FORM_STEPS:
            return HttpResponseNotAllowed(["GET"])
        try:
            creator = identity_now(request, create=True)
        except TooManyVisitors as refused:
            return _show_refused_visitor(request, step, refused)
        address = client_address(request)
        draft = drafts.draft_get_or_create(creator=creator, address=address)
        try:
            return redirect(
                "jobs:wizard-step",
                step=drafts.draft_save_step(
                    draft=draft, step=step, data=request.POST, address=address
                ),
            )
        except drafts.DraftTooLarge as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    draft = drafts.draft_find(creator=identity_now(request)) or drafts.draft_blank()
    return _show(request, draft, step)


def _show(
    request: HttpRequest, draft: WizardDraft, step: str, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    page = drafts.draft_page(draft=draft, step=step)
    if page.step != step:
        return redirect("jobs:wizard-step", step=page.step)
    if step == "review" and draft.pk is not None and not refusal:
        drafts.draft_note_reviewed(draft=draft, address=client_address(request))
    return render(request, TEMPLATE_NAMES[step], {"page": page, "refusal": refusal}, status=status)


def _show_refused_visitor(
    request: HttpRequest, step: str, refused: TooManyVisitors
) -> HttpResponse:
    """Show the step again, as typed, with why nothing was kept: 429 with Retry-After."""
    draft = drafts.draft_typed(step=step, data=request.POST)
    response = _show(request, draft, step, refusal=str(refused), status=429)
    response["Retry-After"] = str(refused.retry_after_s)
    return response


@NOT_STORED
@require_POST
def wizard_generate(request: HttpRequest) -> HttpResponse:
    """Turn the reviewed draft into a job and show its progress (a second press changes nothing).

    Refused by admission (too many jobs), the review is shown again with why, and when to try
    again; the draft keeps everything.
    """
    try:
        creator = identity_now(request, create=True)
    except TooManyVisitors as visitors:
        return _show_refused_visitor(request, "review", visitors)
    try:
        submission = drafts.draft_submit(
            creator=creator,
            draft_id=request.POST.get("draft", ""),
            admission=services.Admission(address=client_address(request)),
        )
    except services.AdmissionRefused as refused:
        draft = drafts.draft_find(creator=creator) or drafts.draft_blank()
        response = _show(request, draft, "review", refusal=str(refused), status=429)
        response["Retry-After"] = str(refused.retry_after_s)
        return response
    if submission.job is None:
        return redirect("jobs:wizard-step", step=submission.step)
    return redirect("jobs:page", job_id=submission.job.pk)


@NOT_STORED
@require_POST
def wizard_validate(request: HttpRequest) -> JsonResponse:
    """Return {"errors": {field: [message, …]}} for the fields sent, as Next would judge them.

    With `step`, what was typed is also kept in the draft. Protected by CSRF like every POST:
    the page sends the csrftoken cookie's value in X-CSRFToken.
    """
    try:
        errors = drafts.draft_check(
            creator=identity_now(request, create=True),
            data=request.POST,
            address=client_address(request),
        )
    except drafts.DraftTooLarge as error:
        return JsonResponse({"errors": {"__all__": [str(error)]}}, status=400)
    except TooManyVisitors as refused:
        response = JsonResponse({"errors": {"__all__": [str(refused)]}}, status=429)
        response["Retry-After"] = str(refused.retry_after_s)
        return response
    return JsonResponse({"errors": errors})
