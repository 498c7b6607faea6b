"""`manage.py api_token create|revoke|list`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api import selectors
from api.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_prints_a_working_token_once_and_list_never_shows_it(owner) -> None:
    secret = run("create", owner.username, "--name", "CI", "--expires-in-days", "30").strip()

    token = selectors.token_find(raw=secret)
    assert token is not None and token.user == owner and token.name == "CI"
    assert token.expires_at is not None and token.refusal() == ""
    listing = run("list")
    assert secret not in listing and token.shown in listing and "active" in listing


def test_create_user_makes_a_plain_account_for_a_program_once(django_user_model) -> None:
    first = run("create", "alice", "--create-user").strip()
    second = run("create", "alice", "--create-user").strip()

    alice = django_user_model.objects.get(username="alice")
    assert not alice.has_usable_password() and not alice.is_staff and not alice.is_superuser
    for secret in (first, second):
        token = selectors.token_find(raw=secret)
        assert token is not None and token.user == alice


def test_revoke_stops_the_token(owner) -> None:
    secret = run("create", owner.username).strip()
    token = selectors.token_find(raw=secret)
    assert token is not None

    assert f"Revoked token {token.pk}" in run("revoke", str(token.pk))

    assert ApiToken.objects.get().state == "revoked"
    assert "revoked" in run("list", "--user", owner.username)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "nobody"), "No user named"),
        (("create", "owner", "--expires-in-days", "0"), "must be more than 0"),
        (("revoke", "999"), "No token with id 999"),
    ],
)
def test_mistakes_say_what_was_wrong(owner, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
