"""Fixtures of the API's tests: tokens, and clients that bear them."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from api import services


@pytest.fixture
def token_of() -> Callable[..., str]:
    """Return a function issuing a token for a user and returning its secret."""

    def issue(user: Any, **kwargs: Any) -> str:
        return services.token_create(user=user, name=kwargs.pop("name", "test"), **kwargs)[1]

    return issue


def bearer(secret: str) -> dict[str, str]:
    """Return the headers that authenticate with `secret`."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def csrf_client() -> Client:
    """Return a client that enforces CSRF, as browsers and servers do (Django's skips it)."""
    return Client(enforce_csrf_checks=True)
