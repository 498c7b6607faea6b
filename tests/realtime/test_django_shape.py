"""The copies of Django internals in realtime/asgi/ still match the Django they were made from.

`handler.py` re-implements `ASGIHandler.handle` and `send_response`, and `middleware.py` runs
the hooks of Django's own middleware classes on the event loop, trusting what those hooks do.
When the pinned Django changes any of them, this test fails: read the new Django code, carry
the change over (or confirm that none is needed), then record the new fingerprint here.
"""

import hashlib
import inspect
from typing import Any

import django
import pytest
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.handlers.asgi import ASGIHandler
from django.middleware import clickjacking, common, csp, csrf, security
from django.utils.deprecation import MiddlewareMixin

from realtime.asgi import middleware

DJANGO_VERSION = "6.1.3"
"""The Django the copies were made from (requirements.txt pins it)."""

FINGERPRINTS: dict[str, tuple[Any, str]] = {
    "ASGIHandler.handle": (ASGIHandler.handle, "c91f27c7fcdc3fff"),
    "ASGIHandler.send_response": (ASGIHandler.send_response, "d91e83d2c6859eda"),
    "ASGIHandler.__call__": (ASGIHandler.__call__, "f756809e9c9308dc"),
    "MiddlewareMixin.__acall__": (MiddlewareMixin.__acall__, "adf8cbcaf9f11e45"),
    "SecurityMiddleware": (security.SecurityMiddleware, "7c0daafdd127de47"),
    "ContentSecurityPolicyMiddleware": (csp.ContentSecurityPolicyMiddleware, "23c2cd6da037dec7"),
    "SessionMiddleware": (sessions.SessionMiddleware, "81dfc7bdab259429"),
    "CommonMiddleware": (common.CommonMiddleware, "d9906d67016a454f"),
    "CsrfViewMiddleware": (csrf.CsrfViewMiddleware, "d5f006440158835e"),
    "AuthenticationMiddleware": (auth.AuthenticationMiddleware, "016788fb7214c6ed"),
    "MessageMiddleware": (messages.MessageMiddleware, "68bbf99a11d6e87e"),
    "XFrameOptionsMiddleware": (clickjacking.XFrameOptionsMiddleware, "b005c3dcd16801e1"),
}
"""What each copied or trusted piece of Django is, and the SHA-256 (first 16 hex digits) of
its source in DJANGO_VERSION."""


def _fingerprint(thing: Any) -> str:
    return hashlib.sha256(inspect.getsource(thing).encode()).hexdigest()[:16]


def test_the_pinned_django_is_the_one_the_copies_were_made_from():
    assert django.get_version() == DJANGO_VERSION


@pytest.mark.parametrize("name", FINGERPRINTS)
def test_the_copied_django_code_has_not_changed(name):
    thing, recorded = FINGERPRINTS[name]
    assert _fingerprint(thing) == recorded, (
        f"Django's {name} changed: compare it with realtime/asgi/ and record the new "
        f"fingerprint {_fingerprint(thing)!r}"
    )


def test_every_middleware_equivalent_is_fingerprinted():
    stock = {path.rsplit(".", 1)[1] for path in middleware.EQUIVALENTS}
    assert stock <= FINGERPRINTS.keys()
