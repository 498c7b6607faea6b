"""HTTP glue for the journey funnel: its part of the dashboard, the drop-off lists, CSV exports.

Staff only, as the whole dashboard. The funnel of a preset range over every template is the
live snapshot's own (pushed to every open dashboard); any other selection is computed on
request and kept for the snapshot's slow interval, so reloads and many viewers cost one query
pair per selection and interval.
"""

import threading
import time
from collections import OrderedDict
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from dashboard.funnel import (
    PRESETS,
    Selection,
    funnel_dropoffs,
    funnel_report,
    parse_selection,
    stage_index,
)
from dashboard.funnel_panel import (
    dropoffs_csv,
    dropoffs_url,
    funnel_csv,
    funnel_panel,
    page_count,
)
from dashboard.snapshot import slow_interval_s
from jobs.scaffolds import TEMPLATES

PAGE_SIZE = 100
"""Drop-offs shown per page."""
CSV_MAX_ROWS = 50_000
"""Drop-offs exported at most (the most recently active first)."""
_CACHED = 32
"""Selections whose funnel is kept at most."""

# Staff figures about people: never kept by a shared cache or on disk.
NOT_STORED = cache_control(private=True, no_store=True)


class _PanelCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, selection: Selection) -> str:
        key = repr(sorted(selection.query().items()))
        with self.lock:  # one computation per selection and interval, however many ask
            found = self.entries.get(key)
            if found is not None and found[0] > time.monotonic():
                return found[1]
            html = str(funnel_panel(report=funnel_report(selection=selection)))
            self.entries[key] = (time.monotonic() + slow_interval_s(), html)
            self.entries.move_to_end(key)
            while len(self.entries) > _CACHED:
                self.entries.popitem(last=False)
            return html


_panels = _PanelCache()


def funnel_cache_clear() -> None:
    """Forget every kept funnel (tests)."""
    with _panels.lock:
        _panels.entries.clear()


def funnel_context(query: QueryDict, *, live: str) -> dict[str, Any]:
    """Return what the dashboard page needs for its funnel: the selection, its form's
    choices, and the funnel's HTML (`live`, the snapshot's, when the selection is a preset)."""
    selection = parse_selection(query, now=timezone.now())
    return {
        "selection": selection,
        "funnel": live if selection.is_live else _panels.get(selection),
        "presets": [
            {"days": days, "label": "24 hours" if days == 1 else f"{days} days"} for days in PRESETS
        ],
        "templates": [(key, template.label) for key, template in TEMPLATES.items()],
        "dates": {} if selection.range.days is not None else selection.range.query(),
    }


@NOT_STORED
@staff_member_required
@require_GET
def funnel_csv_view(request: HttpRequest) -> HttpResponse:
    """Return the funnel of the selection as CSV, one row per stage."""
    selection = parse_selection(request.GET, now=timezone.now())
    return _csv(funnel_csv(funnel_report(selection=selection)), _name("funnel", selection))


@NOT_STORED
@staff_member_required
@require_GET
def dropoffs_page(request: HttpRequest) -> HttpResponse:
    """Show who stopped at a stage in the selection, when, and the last thing they did."""
    selection, stage = _selection_and_stage(request)
    number = _page_number(request.GET.get("page", "1"))
    page = funnel_dropoffs(
        selection=selection, stage=stage, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        "dashboard/dropoffs.html",
        {
            "selection": selection,
            "page": page,
            "number": number,
            "last": page_count(total=page.total, size=PAGE_SIZE),
            "page_url": dropoffs_url(selection, stage=page.stage),
            "csv_url": dropoffs_url(selection, stage=page.stage, csv_=True),
            "back_query": "&".join(f"{k}={v}" for k, v in selection.query().items()),
        },
    )


@NOT_STORED
@staff_member_required
@require_GET
def dropoffs_csv_view(request: HttpRequest) -> HttpResponse:
    """Return who stopped at a stage in the selection as CSV (the most recent first)."""
    selection, stage = _selection_and_stage(request)
    page = funnel_dropoffs(selection=selection, stage=stage, limit=CSV_MAX_ROWS)
    return _csv(dropoffs_csv(page), _name(f"dropoffs-{page.stage.replace(':', '-')}", selection))


def _selection_and_stage(request: HttpRequest) -> tuple[Selection, int]:
    selection = parse_selection(request.GET, now=timezone.now())
    stage = stage_index(request.GET.get("stage", ""))
    if stage is None:
        raise Http404("No such stage, or nobody can stop there (the last one).")
    return selection, stage


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdecimal() and 0 < int(raw) < 100_000 else 1


def _name(what: str, selection: Selection) -> str:
    parts = [what, *(f"{key}-{value}" for key, value in selection.query().items())]
    return "_".join(parts) + ".csv"


def _csv(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
