"""Operations endpoints: liveness, readiness, metrics.

/readyz and /metrics tell an outsider how busy the service is and cost a query each, so they
answer only a client from REALTIME_OPS_ALLOW (loopback by default: the probes and scrapers
beside the process) or one that sends `Authorization: Bearer <REALTIME_OPS_TOKEN>`. Anyone
else gets 403, not 404: an operator whose scraper is refused should learn why at once, and
the paths are documented anyway. /healthz stays open: it says only "alive" and reads nothing.
"""

import asyncio
import hmac
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from api.errors import error_response
from composer_realtime import liveness
from composer_realtime.dbhealth import DatabaseUnavailable
from realtime.api import address_in, client_address, get_hub, render_metrics


def ops_allowed(request: HttpRequest) -> bool:
    """Return True when the request comes from an allowed address or bears the ops token."""
    token = settings.REALTIME_OPS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    return address_in(client_address(request), settings.REALTIME_OPS_ALLOW)


def _refused() -> HttpResponse:
    return error_response(
        403, "Not from an address in REALTIME_OPS_ALLOW, and no valid bearer token."
    )


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 while the process can serve requests (under ASGI, answered in front of
    Django: composer_realtime/liveness.py)."""
    return JsonResponse(liveness.BODY)


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the database answers, naming as degraded a hub that lost Redis; 503
    when the database does not answer. Within 2 s whatever hangs.

    The hub's state is this process's own: its link to Redis, as the streams see it (a
    PING from here would say nothing of a link that died). A Redis that is down leaves the
    process ready: the hub reads the database instead, and Redis is shared by every process,
    so a 503 for it would take the whole fleet out of the load balancer at once.
    """
    if not ops_allowed(request):
        return _refused()
    hub, database = await asyncio.gather(get_hub().settled_state(_LINK_WAIT_S), _database_state())
    checks = {"database": database, "redis": _HUB_STATES[hub]}
    ready = database == "ok"
    status = "ok" if ready and hub != "redis lost" else "degraded"
    return JsonResponse(
        {"status": status if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


_LINK_WAIT_S = 1.0
_DATABASE_WAIT_S = 1.5
_HUB_STATES = {"redis": "ok", "database": "not configured", "redis lost": "unreachable"}
# The database check runs on a thread of its own, never on the shared sync threads (busy,
# when the database hangs, with the requests waiting on it), and at most one at a time: a
# check still waiting on a silent database is waited for again, not joined by another.
_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-db")
_checking: Future[str] | None = None


async def _database_state() -> str:
    """Return "ok", "timeout" (no answer within _DATABASE_WAIT_S), "unavailable" (the
    breaker refuses: the database is known not to answer) or the error's class."""
    global _checking
    if _checking is None or _checking.done():
        _checking = _checker.submit(_select_one)
    try:
        async with asyncio.timeout(_DATABASE_WAIT_S):
            return await asyncio.shield(asyncio.wrap_future(_checking))
    except TimeoutError:
        return "timeout"


def _select_one() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        cause = exc.__cause__
        return "unavailable" if isinstance(cause, DatabaseUnavailable) else _error(exc)
    finally:
        connection.close()
    return "ok"


def _error(exc: Exception) -> str:
    return f"error: {exc.__class__.__name__}"


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Return the whole server's metrics (every worker's), and those computed at scrape
    time, for Prometheus."""
    if not ops_allowed(request):
        return _refused()
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
