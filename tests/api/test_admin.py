"""Tokens in the admin: issued with the secret shown once, listed without it, revoked."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from api import selectors, tokens
from api.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model) -> Client:
    admin = django_user_model.objects.create_superuser(username="root", password="pw-root-1")
    client = Client()
    client.force_login(admin)
    return client


def test_adding_a_token_shows_its_secret_once_and_stores_only_its_digest(
    admin_client_, owner
) -> None:
    response = admin_client_.post(
        reverse("admin:api_apitoken_add"),
        {"user": owner.pk, "name": "CI", "expires_at_0": "", "expires_at_1": ""},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(
        r'<code id="api-token-secret">([^<]+)</code>', response.content.decode()
    ).group(1)
    assert tokens.is_well_formed(secret)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.digest) == (owner, "CI", tokens.digest(secret))
    assert selectors.token_find(raw=secret) == token
    assert not response.cookies.get("messages")  # never in a cookie

    listing = admin_client_.get(reverse("admin:api_apitoken_changelist")).content.decode()
    change = admin_client_.get(reverse("admin:api_apitoken_change", args=[token.pk]))
    assert token.shown in listing
    assert secret not in listing and secret not in change.content.decode()


def test_the_revoke_action_revokes(admin_client_, owner) -> None:
    from api import services

    token, _ = services.token_create(user=owner, name="CI")
    response = admin_client_.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )

    assert "Revoked 1 token(s)." in response.content.decode()
    token.refresh_from_db()
    assert token.state == "revoked" and token.refusal() == "This token was revoked."
