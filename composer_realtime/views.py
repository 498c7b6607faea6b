"""Operations endpoints: liveness, readiness, metrics."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from composer_realtime import metrics, redis_link


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process can serve requests."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers; name Redis as degraded when it does not."""
    checks = {"database": _database_ok(), "redis": _redis_state()}
    ready = checks["database"] == "ok"
    status = "ok" if ready and checks["redis"] in {"ok", "not configured"} else "degraded"
    return JsonResponse({"status": status if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)


def _database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _redis_state() -> str:
    if not redis_link.configured():
        return "not configured"
    return "ok" if redis_link.ping() else "unreachable"


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return this process's metrics, and those computed at scrape time, for Prometheus."""
    return HttpResponse(metrics.render(extra=metrics.collect()),
                        content_type="text/plain; version=0.0.4; charset=utf-8")
