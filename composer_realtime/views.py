"""Operations endpoints: liveness, readiness, metrics.

/readyz and /metrics tell an outsider how busy the service is and cost a query each, so they
answer only a client from REALTIME_OPS_ALLOW (loopback by default: the probes and scrapers
beside the process) or one that sends `Authorization: Bearer <REALTIME_OPS_TOKEN>`. Anyone
else gets 403, not 404: an operator whose scraper is refused should learn why at once, and
the paths are documented anyway. /healthz stays open: it says only "alive" and reads nothing.
"""

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from realtime.api import address_in, client_address, get_hub, render_metrics


def ops_allowed(request: HttpRequest) -> bool:
    """Return True when the request comes from an allowed address or bears the ops token."""
    token = settings.REALTIME_OPS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    return address_in(client_address(request), settings.REALTIME_OPS_ALLOW)


def _refused() -> HttpResponse:
    return JsonResponse(
        {
            "error": "forbidden",
            "detail": "Not from an address in REALTIME_OPS_ALLOW, and no valid bearer token.",
        },
        status=403,
    )


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process can serve requests."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers, naming as degraded a hub that lost Redis.

    The hub's state is this process's own: its link to Redis, as the streams see it (a
    PING from here would say nothing of a link that died).
    """
    if not ops_allowed(request):
        return _refused()
    hub = await get_hub().settled_state(_LINK_WAIT_S)
    checks = {"database": await _database_state(), "redis": _HUB_STATES[hub]}
    ready = checks["database"] == "ok"
    status = "ok" if ready and hub != "redis lost" else "degraded"
    return JsonResponse(
        {"status": status if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


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


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return the whole server's metrics (every worker's), and those computed at scrape
    time, for Prometheus."""
    if not ops_allowed(request):
        return _refused()
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
