"""HTTP glue for the staff dashboard: the page, its live stream, its fallback poll."""

from functools import partial

from asgiref.sync import sync_to_async
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from api.errors import error_response
from dashboard.funnel import DEFAULT_DAYS, PRESETS
from dashboard.funnel_views import funnel_context
from dashboard.snapshot import (
    channel,
    interval_s,
    snapshot_after,
    snapshot_current,
    snapshot_opening,
)
from jobs.access import Identity
from realtime.api import open_stream, poller_seen

# What staff see of other people's journeys: no shared cache, nor the browser's disk, keeps it.
NOT_STORED = cache_control(private=True, no_store=True)


def parse_days(query: QueryDict) -> int:
    """Return the funnel period asked for (?days=1, 7 or 30); the default otherwise."""
    raw = query.get("days", "")
    return int(raw) if raw in {str(days) for days in PRESETS} else DEFAULT_DAYS


@NOT_STORED
@staff_member_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Render the dashboard with the current snapshot; the client keeps it live (the funnel
    too, for a preset range over every template)."""
    days, snapshot = parse_days(request.GET), snapshot_current()
    panels = snapshot.panels_for(days)
    return render(
        request,
        "dashboard/page.html",
        {
            "days": days,
            "panels": panels,
            **funnel_context(request.GET, live=panels["funnel"]),
            "payload": snapshot.payload(days=days),
            "generated_at": snapshot.generated_at,
            "interval_ms": round(interval_s() * 1000),
        },
    )


@require_GET
async def dashboard_events(request: HttpRequest) -> HttpResponseBase:
    """Stream a snapshot per interval to staff; refuse everyone else with 403."""
    try:
        user = await request.auser()
    finally:
        await sync_to_async(_close_connection)()  # hold no connection while streaming
    if not _is_staff(user):
        return _refused()
    days = parse_days(request.GET)
    return await open_stream(
        request,
        channel=channel(days),
        client=Identity.of(user).key,
        start=partial(snapshot_opening, days),
        replay=partial(snapshot_after, days),
        gapless=False,
    )


@NOT_STORED
@require_GET
def dashboard_snapshot(request: HttpRequest) -> HttpResponse:
    """Return the current snapshot as JSON, for the client's polling fallback."""
    if not _is_staff(request.user):
        return _refused()
    poller_seen(client=Identity.of(request.user).key)
    days = parse_days(request.GET)
    payload = snapshot_current().payload(days=days)
    return JsonResponse({**payload, "next_poll_ms": round(max(interval_s(), 2.0) * 1000)})


def _is_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def _refused() -> HttpResponse:
    return error_response(403, "The dashboard is for staff: sign in as a staff member.")


def _close_connection() -> None:
    # Resolved inside the sync thread: `connection` is per thread and per request context.
    connection.close()
