"""Reads: the token a request bears."""

from api import tokens
from api.models import ApiToken


def token_find(*, raw: str) -> ApiToken | None:
    """Return the token whose secret is `raw`, with its user, else None."""
    if not tokens.is_well_formed(raw):
        return None
    return ApiToken.objects.select_related("user").filter(digest=tokens.digest(raw)).first()


async def atoken_find(*, raw: str) -> ApiToken | None:
    """Return the token whose secret is `raw`, with its user, else None (async: one indexed
    query, and none at all for text that is not a token)."""
    if not tokens.is_well_formed(raw):
        return None
    return await ApiToken.objects.select_related("user").filter(digest=tokens.digest(raw)).afirst()
