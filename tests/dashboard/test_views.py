"""The dashboard's page, stream and poll: staff only, and what they answer."""

import asyncio
import json
import re
from datetime import timedelta

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from dashboard.snapshot import snapshot_reset
from tests.support.journeys import record
from tests.support.sse import parse_lines

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    snapshot_reset()
    yield
    snapshot_reset()


def _client_for(user, client_class=Client):
    client = client_class()
    if user is not None:
        client.force_login(user)
    return client


def _first_events(client: AsyncClient, url: str, count: int) -> tuple[int, list]:
    """Read `count` events from a stream that never ends by itself, then hang up."""

    async def go() -> tuple[int, list]:
        response = await client.get(url)
        if not response.streaming:
            return response.status_code, []
        text, events = "", []
        chunks = aiter(response.streaming_content)
        async with asyncio.timeout(20):
            while len(events) < count:
                text += (await anext(chunks)).decode()
                events = parse_lines(text.split("\n"))[0]
        await chunks.aclose()
        return response.status_code, events

    return asyncio.run(go())


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_the_page_sends_everyone_but_staff_to_log_in(who, owner):
    response = _client_for(owner if who == "owner" else None).get(reverse("dashboard:page"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_the_stream_and_the_poll_refuse_everyone_but_staff(who, owner):
    user = owner if who == "owner" else None
    status, events = _first_events(_client_for(user, AsyncClient), reverse("dashboard:events"), 1)
    assert (status, events) == (403, [])
    refused = _client_for(user).get(reverse("dashboard:snapshot"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden" and "staff" in refused.json()["detail"]


def test_staff_see_the_page_with_every_panel_drawn_as_svg(staff_user):
    response = _client_for(staff_user).get(reverse("dashboard:page"))
    assert response.status_code == 200
    html = response.content.decode()
    for panel in ("running", "last_day", "funnel", "realtime"):
        assert f'data-panel="{panel}"' in html
    assert html.count('role="img"') >= 6
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts), "no inline script"
    assert 'src="/static/composer/dashboard.js"' in html


def test_staff_stream_starts_with_the_current_snapshot_then_sends_new_ones(staff_user, settings):
    settings.DASHBOARD_INTERVAL_S = 0.2
    status, events = _first_events(
        _client_for(staff_user, AsyncClient), reverse("dashboard:events") + "?days=30", 3
    )
    assert status == 200
    assert [e.event for e in events] == ["dashboard-snapshot"] * 3
    payloads = [json.loads(e.data) for e in events]
    assert [int(e.id) for e in events] == [p["id"] for p in payloads]
    assert payloads[0]["id"] < payloads[1]["id"] < payloads[2]["id"]
    assert {p["days"] for p in payloads} == {30}
    assert set(payloads[0]["panels"]) == {"running", "queue", "last_day", "funnel", "realtime"}
    assert "last 30 days" in payloads[0]["panels"]["funnel"]


def test_the_poll_returns_the_same_snapshot_and_when_to_come_back(staff_user):
    body = _client_for(staff_user).get(reverse("dashboard:snapshot") + "?days=1").json()
    assert body["days"] == 1
    assert body["next_poll_ms"] > 0
    assert set(body["panels"]) == {"running", "queue", "last_day", "funnel", "realtime"}
    assert body["figures"]["started"] == 0


@pytest.mark.parametrize(
    ("query", "days"), [("", 7), ("?days=1", 1), ("?days=30", 30), ("?days=2", 7), ("?days=x", 7)]
)
def test_the_period_is_one_of_the_three_offered(query, days, staff_user):
    body = _client_for(staff_user).get(reverse("dashboard:snapshot") + query).json()
    assert body["days"] == days


def test_the_funnel_panel_shows_the_journey_records_of_its_period(staff_user):
    now = timezone.now()
    for visitor, kinds, days_ago in [
        ("a", ["wizard_started", "submitted"], 0),
        ("b", ["wizard_started"], 0),
        ("c", ["wizard_started", "submitted"], 3),
    ]:
        for kind in kinds:
            record(visitor, kind, at=now - timedelta(days=days_ago, minutes=1))
    client = _client_for(staff_user)

    for days, started, submitted in [(1, 2, 1), (7, 3, 2)]:
        body = client.get(reverse("dashboard:snapshot"), {"days": days}).json()
        funnel = body["panels"]["funnel"]
        assert f'data-key="wizard_started" data-value="{started}"' in funnel
        assert f'data-key="submitted" data-value="{submitted}"' in funnel
