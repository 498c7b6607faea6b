"""Who is asking: the user, or the anonymous session that created a job."""

import secrets

from django.http import HttpRequest

from jobs.selectors import Requester

ANON_OWNER_KEY = "composer_anon_owner"


def anon_owner_for(request: HttpRequest) -> str:
    """Return the session's anonymous owner id, creating it (and the session) if needed."""
    owner = request.session.get(ANON_OWNER_KEY)
    if not owner:
        owner = request.session[ANON_OWNER_KEY] = secrets.token_urlsafe(24)
    return str(owner)


def requester(request: HttpRequest) -> Requester:
    """Return who is asking, for a sync view."""
    return Requester(user=request.user, anon_owner=str(request.session.get(ANON_OWNER_KEY, "")))


def requester_key(requester: Requester) -> str:
    """Return the key that caps and rate limits count a requester under."""
    if requester.user.is_authenticated:
        return f"user:{requester.user.pk}"
    return f"anon:{requester.anon_owner or '-'}"


async def arequester(request: HttpRequest) -> Requester:
    """Return who is asking, for an async view."""
    anon_owner = await request.session.aget(ANON_OWNER_KEY, "")
    return Requester(user=await request.auser(), anon_owner=str(anon_owner))
