"""What a request gets while the database does not answer: a quick 503 with Retry-After.

A request whose database work fails for want of a database (a connection that cannot be had,
a round trip past its deadline, the breaker refusing at once: composer_realtime/dbhealth.py;
Django raises each as its OperationalError or InterfaceError) is answered here instead of by
Django's 500: under /api/ and for programs the JSON error object (api/errors.py) with
`"error": "database_unavailable"` and `retry_after_s`; a stream asked for by an EventSource a
`busy` event (a 503 would stop it for good: `busy` has it come back after `retry:`); a page a
short HTML page. All with `Retry-After`, logged by the breaker once per outage rather than
once per request.
"""

import random
import sys
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string

from api.errors import error_body
from composer_realtime.dbhealth import RETRY_AFTER_S
from realtime.api import busy_response, metrics

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
UNAVAILABLE = (OperationalError, InterfaceError)
"""What Django raises when the database cannot be had or does not answer."""
CODE = "database_unavailable"


def unavailable_response(request: HttpRequest) -> HttpResponseBase:
    """Return the answer to `request` while the database does not answer."""
    metrics.DATABASE_UNAVAILABLE_ANSWERS.inc()
    if "text/event-stream" in request.headers.get("Accept", ""):
        retry_s = RETRY_AFTER_S + random.randint(0, RETRY_AFTER_S)  # noqa: S311 - jitter
        return busy_response(error=CODE, retry_s=retry_s)
    if request.path_info.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        detail = f"The database is not answering; retry after {RETRY_AFTER_S} s."
        body = {**error_body(503, detail, CODE), "retry_after_s": RETRY_AFTER_S}
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        page = render_to_string("503.html", {"retry_after_s": RETRY_AFTER_S})
        response = HttpResponse(page, status=503)
    response["Cache-Control"] = "no-store"
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseOutageMiddleware:
    """Answer a request that failed for want of a database with `unavailable_response`.

    A view's failure comes to `process_exception` (Django logs nothing then). A middleware
    further in that failed (a session saved, a token looked up) has already been turned into
    Django's 500 by the time it comes back here: `got_request_exception` marked its request,
    and the 500 is replaced (Django has logged it; the breaker keeps such failures rare).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)  # Django's documented way

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self._async:
            return self._acall(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return _replaced(request, response)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        assert not isinstance(response, HttpResponseBase)
        return _replaced(request, await response)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Return the 503 for a database that does not answer; leave other errors be."""
        return unavailable_response(request) if isinstance(exception, UNAVAILABLE) else None


_FAILED = "_composer_database_unavailable"


def _replaced(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if response.status_code == 500 and getattr(request, _FAILED, False):
        return unavailable_response(request)
    return response


@receiver(got_request_exception)
def _mark_unavailable(*, request: HttpRequest | None = None, **kwargs: object) -> None:
    # Sent while Django handles the exception: it is the one in flight.
    if request is not None and isinstance(sys.exception(), UNAVAILABLE):
        setattr(request, _FAILED, True)
