"""Operations endpoints: liveness, readiness, metrics."""

from asgiref.sync import sync_to_async
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from realtime.api import get_hub, metrics


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process can serve requests."""
    return JsonResponse({"status": "ok"})


@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers, naming as degraded a hub that lost Redis.

    The hub's state is this process's own: its link to Redis, as the streams see it (a
    PING from here would say nothing of a link that died).
    """
    hub = await get_hub().settled_state(_LINK_WAIT_S)
    checks = {"database": await _database_state(), "redis": _HUB_STATES[hub]}
    ready = checks["database"] == "ok"
    status = "ok" if ready and hub != "redis lost" else "degraded"
    return JsonResponse({"status": status if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)


_LINK_WAIT_S = 1.0
_HUB_STATES = {"redis": "ok", "database": "not configured", "redis lost": "unreachable"}


@sync_to_async
def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"error: {exc.__class__.__name__}"
    finally:
        connection.close()
    return "ok"


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return this process's metrics, and those computed at scrape time, for Prometheus."""
    return HttpResponse(metrics.render(extra=metrics.collect()),
                        content_type="text/plain; version=0.0.4; charset=utf-8")
