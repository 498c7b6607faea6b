"""HTTP glue for the wizard: plain forms and redirects (post/redirect/get), no JavaScript needed.

wizard.js only adds real-time validation and autosave through `wizard_validate`.
"""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import drafts
from jobs.access import anon_owner_for

TEMPLATE_NAMES = {"basics": "wizard/step.html", "template": "wizard/template.html",
                  "options": "wizard/step.html", "review": "wizard/review.html"}


def creator_of(request: HttpRequest) -> drafts.Creator:
    """Return who is using the wizard or the API: the user, or the anonymous session."""
    if request.user.is_authenticated:
        return drafts.Creator(user=request.user, anon_owner="")
    return drafts.Creator(user=None, anon_owner=anon_owner_for(request))


@require_GET
def wizard_home(request: HttpRequest) -> HttpResponse:
    """Resume the person's draft where they left it (a new draft starts at the basics)."""
    draft = drafts.draft_get_or_create(creator=creator_of(request))
    return redirect("jobs:wizard-step", step=drafts.draft_resume_step(draft=draft))


@require_http_methods(["GET", "POST"])
def wizard_step(request: HttpRequest, step: str) -> HttpResponse:
    """Show a step of the wizard; on POST, keep what was sent and go to the next step or back."""
    if step not in drafts.STEPS:
        raise Http404("No such step.")
    draft = drafts.draft_get_or_create(creator=creator_of(request))
    if request.method == "POST":
        if step not in drafts.FORM_STEPS:
            return HttpResponseNotAllowed(["GET"])
        return redirect("jobs:wizard-step",
                        step=drafts.draft_save_step(draft=draft, step=step, data=request.POST))
    page = drafts.draft_page(draft=draft, step=step)
    if page.step != step:
        return redirect("jobs:wizard-step", step=page.step)
    if step == "review":
        drafts.draft_note_reviewed(draft=draft)
    return render(request, TEMPLATE_NAMES[step], {"page": page})


@require_POST
def wizard_generate(request: HttpRequest) -> HttpResponse:
    """Turn the reviewed draft into a job and show its progress (a second press changes nothing)."""
    submission = drafts.draft_submit(creator=creator_of(request),
                                     draft_id=request.POST.get("draft", ""))
    if submission.job is None:
        return redirect("jobs:wizard-step", step=submission.step)
    return redirect("jobs:page", job_id=submission.job.pk)


@require_POST
def wizard_validate(request: HttpRequest) -> JsonResponse:
    """Return {"errors": {field: [message, …]}} for the fields sent, as Next would judge them.

    With `step`, what was typed is also kept in the draft. Protected by CSRF like every POST:
    the page sends the csrftoken cookie's value in X-CSRFToken.
    """
    errors = drafts.draft_check(creator=creator_of(request), data=request.POST)
    return JsonResponse({"errors": errors})
