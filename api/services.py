"""Writes: issuing and revoking API tokens."""

from datetime import datetime

from django.contrib.auth.models import User

from api import tokens
from api.models import ApiToken


def token_save_new(*, token: ApiToken) -> str:
    """Give an unsaved token its secret, save it, and return the secret (shown only once)."""
    raw = tokens.generate()
    token.digest = tokens.digest(raw)
    token.shown = tokens.shown_part(raw)
    token.save()
    return raw


def token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; return it with its secret, which is stored nowhere."""
    token = ApiToken(user=user, name=name, expires_at=expires_at)
    return token, token_save_new(token=token)


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token (a no-op if it already was)."""
    token.revoke()
