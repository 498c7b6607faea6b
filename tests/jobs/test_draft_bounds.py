"""A wizard draft stays small: options only for real templates, and a size cap with a 400."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import WizardDraft
from jobs.scaffolds import TEMPLATES
from tests.support.wizard import as_post, typed_step

pytestmark = pytest.mark.django_db


def step_url(step: str) -> str:
    return reverse("jobs:wizard-step", args=[step])


def test_cycling_through_made_up_templates_does_not_grow_the_draft(client):
    client.post(step_url("basics"), as_post(typed_step("basics")))
    for i in range(300):
        client.post(step_url("template"), {"template": f"made-up-{i}"})
        client.post(step_url("options"), {"network": "testnet", f"extra_{i}": "x" * 500})
        client.post(
            reverse("jobs:wizard-validate"),
            {"step": "options", "network": "testnet", f"more_{i}": "y" * 500},
        )
    for template in TEMPLATES:  # the real ones are all kept, as before
        client.post(step_url("template"), {"template": template})
        client.post(step_url("options"), as_post(typed_step("options", template)))
    draft = WizardDraft.objects.get()
    assert set(draft.data["options"]) == set(TEMPLATES)
    assert len(json.dumps(draft.data)) < 8 * 1024


def test_a_draft_over_the_size_cap_gets_a_clear_400_and_keeps_what_it_had(client, settings):
    settings.JOBS_DRAFT_MAX_BYTES = 1024
    client.post(step_url("basics"), as_post(typed_step("basics")))
    before = WizardDraft.objects.get().data
    huge = {**as_post(typed_step("basics")), "description": "x" * 3000}

    page = client.post(step_url("basics"), huge)
    validate = client.post(reverse("jobs:wizard-validate"), {**huge, "step": "basics"})

    assert page.status_code == 400 and "at most 1,024" in page.content.decode()
    assert validate.status_code == 400
    assert "too long to keep" in validate.json()["errors"]["__all__"][0]
    assert WizardDraft.objects.get().data == before


def test_a_long_list_value_is_bounded_by_the_size_cap_too(settings):
    settings.JOBS_DRAFT_MAX_BYTES = 4096
    client = Client()
    client.post(step_url("basics"), as_post(typed_step("basics")))
    response = client.post(step_url("basics"), {"name": ["n" * 900] * 900})
    assert response.status_code in (302, 400)
    assert len(json.dumps(WizardDraft.objects.get().data)) <= 4096
