"""The API's two middlewares: bearer-token authentication, and JSON errors under /api/.

Both are async-capable and do their work on the event loop under ASGI: the only I/O is the
token lookup, one indexed query (the async ORM's one hop to the request's sync thread, which
the view's own database work would make anyway). Neither hands its hooks to a thread the way a
`MiddlewareMixin` does (composer_realtime/middleware.py says why that matters).
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

from api import selectors
from api.errors import error_body, error_response, unauthorized
from api.models import ApiToken
from composer_realtime.outage import UNAVAILABLE, unavailable_response
from jobs.access import TOKEN_ATTRIBUTE

API_PREFIX = "/api/"
_JSON_TYPES = ("application/json", "application/problem+json")

GetResponse = Callable[[HttpRequest], Any]


def is_api(request: HttpRequest) -> bool:
    """Return True for a request under /api/."""
    return request.path_info.startswith(API_PREFIX)


def bearer_of(request: HttpRequest) -> str | None:
    """Return the token a request under /api/ bears ("" if the header is empty), or None
    when it bears none (other Authorization schemes are not ours to judge)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None or not is_api(request):
        return None
    scheme, _, credentials = header.strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


class _Hybrid:
    """A middleware that runs as a coroutine under ASGI and as a function under WSGI."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)  # type: ignore[type-var]  # Django's documented way


class BearerTokenMiddleware(_Hybrid):
    """Authenticate requests under /api/ that bear `Authorization: Bearer <token>`.

    A valid token sets `request.user` to its user, `request.auth_token` to the token, and
    exempts the request from CSRF: a page of another site cannot make a browser send this
    header without a CORS preflight that this site never grants, and no cookie is involved. A
    bad, expired or revoked token is a 401: never a quiet fallback to the session cookie.
    Goes after AuthenticationMiddleware, whose lazy user it replaces.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        raw = bearer_of(request)
        if raw is None:
            return self.get_response(request)
        try:
            verdict = _verdict(selectors.token_find(raw=raw))
        except UNAVAILABLE:
            return unavailable_response(request)
        if isinstance(verdict, JsonResponse):
            return verdict
        return self.get_response(_authenticated(request, verdict))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        raw = bearer_of(request)
        if raw is None:
            return await get_response(request)
        try:
            verdict = _verdict(await selectors.atoken_find(raw=raw))
        except UNAVAILABLE:  # every API request would otherwise be a logged 500
            return unavailable_response(request)
        if isinstance(verdict, JsonResponse):
            return verdict
        return await get_response(_authenticated(request, verdict))


def _verdict(token: ApiToken | None) -> ApiToken | JsonResponse:
    """Return the token if it authenticates now, else the 401 that says why not."""
    if token is None:
        return unauthorized("This is not a valid API token.")
    reason = token.refusal()
    return unauthorized(reason) if reason else token


def _authenticated(request: HttpRequest, token: ApiToken) -> HttpRequest:
    user: User = token.user

    async def auser() -> User:
        return user

    request.user = user
    request.auser = auser
    setattr(request, TOKEN_ATTRIBUTE, token)
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]  # see the class
    return request


class ApiErrorsMiddleware(_Hybrid):
    """Answer every error under /api/ with the JSON error object, in DEBUG and production.

    Goes first in MIDDLEWARE so that it also sees the errors other middlewares answer (a host
    not allowed, CSRF). A body past DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 413 before
    anything reads it (Django would raise RequestDataTooBig, a 400, from whoever read it).
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        if not is_api(request):
            return self.get_response(request)
        return _too_big(request) or as_json_error(self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        if not is_api(request):
            return await get_response(request)
        return _too_big(request) or as_json_error(await get_response(request))

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Answer the exceptions a view raises on purpose; leave crashes to Django (which logs
        them) and turn its page into JSON on the way out."""
        if not is_api(request):
            return None
        if isinstance(exception, Http404):
            return error_response(404, str(exception))
        if isinstance(exception, PermissionDenied):
            return error_response(403, str(exception))
        if isinstance(exception, RequestDataTooBig):
            return _too_large()
        return None


def _too_big(request: HttpRequest) -> JsonResponse | None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(400, "The Content-Length header is not a number.")
    return _too_large() if limit is not None and length > limit else None


def _too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, f"The body is larger than the {limit} bytes this server reads.")


def as_json_error(response: HttpResponseBase) -> HttpResponseBase:
    """Return `response`, its body replaced by the JSON error object if it is an error that
    is not JSON already (Django's 404, 405, 403 and 500 pages); headers such as Allow stay."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(_JSON_TYPES):
        return response
    status = response.status_code
    detail = f"Use {response['Allow']}." if status == 405 and response.has_header("Allow") else ""
    body = json.dumps(error_body(status, detail)).encode()
    if response.streaming:
        replaced = JsonResponse(error_body(status, detail), status=status)
        for name in ("Allow", "Retry-After", "WWW-Authenticate", "Vary"):
            if response.has_header(name):
                replaced[name] = response[name]
        return replaced
    response.content = body  # type: ignore[attr-defined]
    response["Content-Type"] = "application/json"
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(body))
    return response
