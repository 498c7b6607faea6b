"""The funnel's pages: the dashboard's chosen funnel, the drop-off list, the CSV exports."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.funnel_views import funnel_cache_clear
from dashboard.snapshot import snapshot_reset
from tests.support.journeys import walk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh() -> None:
    snapshot_reset()
    funnel_cache_clear()


@pytest.fixture
def staff(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def journeys() -> None:
    start = timezone.now() - timedelta(days=2)
    for i in range(3):
        walk(f"nft{i}", 3, at=start + timedelta(hours=i), template="nft")
    walk("tok", 8, at=start, template="token")


def test_a_chosen_template_shows_its_own_funnel_not_the_live_one(staff, journeys):
    page = staff.get(reverse("dashboard:page"), {"days": "7", "template": "nft"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Last 7 days · NFT collection" in html and 'data-funnel-live="false"' in html
    assert 'data-key="wizard_started" data-value="3"' in html
    live = staff.get(reverse("dashboard:page"), {"days": "7"}).content.decode()
    assert 'data-funnel-live="true"' in live and 'data-key="wizard_started" data-value="4"' in live


def test_a_wrong_choice_is_said_and_the_default_shown(staff, journeys):
    html = staff.get(reverse("dashboard:page"), {"from": "2026-13-01", "to": "x"}).content.decode()
    assert "Give both dates as year-month-day" in html and "Last 7 days · all templates" in html


def test_the_drop_off_list_and_its_csv_name_who_stopped_at_a_stage(staff, journeys):
    query = {"days": "7", "template": "nft", "stage": "step:template"}
    page = staff.get(reverse("dashboard:dropoffs"), query)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert page.content.decode().count("<tr>") == 1 + 3  # the head, and a row each

    exported = staff.get(reverse("dashboard:dropoffs-csv"), query)
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="dropoffs-step-template_days-7_template-nft.csv"'
        in exported["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert sorted(r["visitor"] for r in rows) == ["nft0", "nft1", "nft2"]
    assert {r["was_on"] for r in rows} == {"Options"}


def test_the_funnel_csv_has_every_stage(staff, journeys):
    exported = staff.get(reverse("dashboard:funnel-csv"), {"days": "30"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [r["visitors"] for r in rows] == ["4", "4", "4", "1", "1", "1", "1", "1"]


@pytest.mark.parametrize("stage", ["", "downloaded", "step:nope"])
def test_a_stage_nobody_can_stop_at_is_404(staff, stage):
    assert staff.get(reverse("dashboard:dropoffs"), {"stage": stage}).status_code == 404


@pytest.mark.parametrize(
    "name", ["dashboard:dropoffs", "dashboard:dropoffs-csv", "dashboard:funnel-csv"]
)
def test_only_staff_see_who_stopped(name, owner):
    client = Client()
    client.force_login(owner)
    response = client.get(reverse(name), {"stage": "wizard_started"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
