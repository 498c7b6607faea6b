"""Django's stock middleware with its hooks run on the event loop, for the ASGI handler.

Under ASGI a `MiddlewareMixin` middleware hands each hook to a sync thread (`sync_to_async`):
two thread hops per middleware per request, most of the cost of a cheap request such as opening
a stream or a 304 poll. The hooks of the middlewares below only read the request and write
headers, so each class here is the Django class with one change: in async mode it runs a hook
inline, and hands it to the thread as Django does only when that hook may block (a session to
save, messages to store, a CSRF check that reads a form, anything under CSRF_USE_SESSIONS).
In sync mode (WSGI, Django's test Client) they are the Django classes, unchanged.

`SharedThreadsASGIHandler` builds its chain with these in place of the classes named in
MIDDLEWARE (`EQUIVALENTS`), so the setting, and Django's deploy checks that look for the stock
names in it, stay as they are.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware import clickjacking, common, csp, csrf, security
from django.utils.deprecation import MiddlewareMixin

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class InlineHooks(MiddlewareMixin):
    """Run `process_request` and `process_response` inline unless they say they may block."""

    def request_may_block(self, request: HttpRequest) -> bool:
        """Return True when `process_request` may do I/O for this request."""
        return False

    def response_may_block(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        """Return True when `process_response` may do I/O for this response."""
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase | None = None
        process_request = getattr(self, "process_request", None)
        if process_request is not None:
            response = await _run(process_request, self.request_may_block(request), request)
        response = response or await self.get_response(request)  # type: ignore[misc]
        process_response = getattr(self, "process_response", None)
        if process_response is not None:
            blocks = self.response_may_block(request, response)
            response = await _run(process_response, blocks, request, response)
        return response


async def _run(hook: Callable[..., Any], blocks: bool, *args: Any) -> Any:
    if blocks:
        return await sync_to_async(hook, thread_sensitive=True)(*args)
    return hook(*args)


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    """Django's SecurityMiddleware (redirects and headers only)."""


class ContentSecurityPolicyMiddleware(InlineHooks, csp.ContentSecurityPolicyMiddleware):
    """Django's ContentSecurityPolicyMiddleware (a lazy nonce and headers only)."""


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    """Django's CommonMiddleware (URL checks and headers only)."""


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    """Django's XFrameOptionsMiddleware (a header only)."""


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """Django's AuthenticationMiddleware: it only sets the lazy `user` and `auser`."""


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    """Django's SessionMiddleware: the store is lazy; only a save goes to the thread."""

    def response_may_block(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        session = getattr(request, "session", None)
        return session is not None and bool(session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    """Django's MessageMiddleware: the storage is lazy; only storing goes to the thread."""

    def response_may_block(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and bool(storage.used or storage.added_new)


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    """Django's CsrfViewMiddleware: checks of safe methods inline, of forms in the thread.

    Django adapts a sync `process_view` with a thread hop of its own, so in async mode the
    instance offers a coroutine in its place.
    """

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self._check_view = self.process_view
        if self.async_mode:
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]

    def request_may_block(self, request: HttpRequest) -> bool:
        return bool(settings.CSRF_USE_SESSIONS)

    def response_may_block(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return bool(settings.CSRF_USE_SESSIONS)

    async def _aprocess_view(
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseBase | None:
        # Unsafe methods read the form body (maybe a file on disk) and, under
        # CSRF_USE_SESSIONS, the session: Django's own way, in the thread.
        blocks = not (
            request.method in _SAFE_METHODS
            or getattr(callback, "csrf_exempt", False)
            or getattr(request, "csrf_processing_done", False)
        )
        response: HttpResponseBase | None = await _run(
            self._check_view, blocks, request, callback, callback_args, callback_kwargs
        )
        return response


_EQUIVALENT_NAMES: dict[str, str] = {
    "django.middleware.security.SecurityMiddleware": "SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware": "ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware": "SessionMiddleware",
    "django.middleware.common.CommonMiddleware": "CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware": "CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware": "MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "XFrameOptionsMiddleware",
}
EQUIVALENTS: dict[str, str] = {
    stock: f"{__name__}.{name}" for stock, name in _EQUIVALENT_NAMES.items()
}
"""Maps the dotted path of each Django middleware to its equivalent here."""


def equivalents(paths: list[str]) -> list[str]:
    """Return MIDDLEWARE with each Django middleware that has an equivalent here replaced."""
    return [EQUIVALENTS.get(path, path) for path in paths]
