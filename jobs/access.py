"""Who is asking: the user, or the anonymous session that created a job.

`Identity` is the one value of who is asking. The visibility of jobs (`jobs.selectors`), the
caps and rate limits (its `key`), drafts and jobs made (its `owner_columns`) and the journey's
pseudonym (its `visitor`) all derive from it.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_out
from django.db.models import Q
from django.dispatch import receiver
from django.http import HttpRequest

from realtime.api import client_address, hit

ANON_OWNER_KEY = "composer_anon_owner"
"""The session key holding the anonymous owner id."""
NO_OWNER_KEY = "anon:-"
"""The owner key of no one: an anonymous visitor without an owner id, a script's job."""


def owner_key(*, user_id: int | None, anon_owner: str) -> str:
    """Return the key that caps, rate limits and locks count an owner under."""
    return f"user:{user_id}" if user_id is not None else f"anon:{anon_owner or '-'}"


def visitor_id(*, user_id: int | None, anon_owner: str) -> str:
    """Return the journey pseudonym of an owner: a keyed hash (32 hex) of its owner key."""
    key = owner_key(user_id=user_id, anon_owner=anon_owner)
    # Journeys of no one's jobs (a script's) were stored under "anon:" before the key was
    # shared, and keep that pseudonym: stored journeys stay joined to new events.
    raw = "anon:" if key == NO_OWNER_KEY else key
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def owned_by(*, user_id: int | None, anon_owner: str) -> Q:
    """Return the rule of the rows (jobs, drafts) an owner made: the user's, else the
    anonymous session's (with no owner id: no one's rows)."""
    if user_id is not None:
        return Q(owner_id=user_id)
    return Q(owner__isnull=True, anon_owner=anon_owner)


@dataclass(frozen=True, kw_only=True, slots=True)
class Identity:
    """Who is asking, reduced to what the rules read: small and hashable, so it can be cached."""

    user_id: int | None
    """The signed-in user's id; None when anonymous."""
    is_staff: bool = False
    """True for signed-in staff, who see every job."""
    anon_owner: str = ""
    """The id the session holds for jobs made while anonymous ("" if none)."""

    @classmethod
    def of(
        cls, user: AbstractBaseUser | AnonymousUser | None, *, anon_owner: str = ""
    ) -> "Identity":
        """Return the identity of a user (None or anonymous: the session's `anon_owner`)."""
        if user is None or not user.is_authenticated:
            return cls(user_id=None, anon_owner=anon_owner)
        staff = bool(getattr(user, "is_staff", False))
        return cls(user_id=user.pk, is_staff=staff, anon_owner=anon_owner)

    @property
    def key(self) -> str:
        """Return the key that caps and rate limits count this identity under."""
        return owner_key(user_id=self.user_id, anon_owner=self.anon_owner)

    @property
    def visitor(self) -> str:
        """Return the journey pseudonym of this identity."""
        return visitor_id(user_id=self.user_id, anon_owner=self.anon_owner)

    @property
    def owner_columns(self) -> dict[str, Any]:
        """Return the owner columns of what this identity makes (a job, a draft): its user's,
        else its anonymous session's."""
        anon = "" if self.user_id is not None else self.anon_owner
        return {"owner_id": self.user_id, "anon_owner": anon}

    @property
    def owns(self) -> Q:
        """Return the rule of the rows this identity made (`owned_by`)."""
        return owned_by(user_id=self.user_id, anon_owner=self.anon_owner)


VIEWER_TTL_S = 30.0
"""How long this process answers for a session without reading it and its user again.

A logout through this process takes effect at once; a logout through another process, a
password change, a deactivated account or a lost staff flag, within this time.
"""
VIEWER_CACHE_SIZE = 10_000
"""Sessions remembered per process at most (least recently used go first)."""


class TooManyVisitors(Exception):
    """The client address started too many anonymous sessions in the last minute."""

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            "Too many new visitors from your network in the last minute; try again in "
            f"{retry_after_s} s (or sign in)."
        )
        self.retry_after_s = retry_after_s


def anon_owner_for(request: HttpRequest) -> str:
    """Return the session's anonymous owner id, creating it (and the session) if needed.

    Sessions are free to make, so new ones are counted per client address: beyond
    JOBS_NEW_VISITORS_PER_ADDRESS a minute, raise TooManyVisitors (and make none).
    """
    owner = request.session.get(ANON_OWNER_KEY)
    if not owner:
        verdict = hit(
            scope="visitor:addr",
            key=client_address(request),
            limit=settings.JOBS_NEW_VISITORS_PER_ADDRESS,
        )
        if not verdict.allowed:
            raise TooManyVisitors(retry_after_s=verdict.retry_after_s)
        owner = request.session[ANON_OWNER_KEY] = secrets.token_urlsafe(24)
    return str(owner)


TOKEN_ATTRIBUTE = "auth_token"  # noqa: S105 - the name of a request attribute
"""Set on a request authenticated by an API token (api/middleware.py): it is the token's
user, and whatever session cookie came along is not read."""


def by_token(request: HttpRequest) -> bool:
    """Return True when the request was authenticated by an API token, not the session."""
    return getattr(request, TOKEN_ATTRIBUTE, None) is not None


def anon_owner_of(request: HttpRequest) -> str:
    """Return the session's anonymous owner id, or "" (creating nothing)."""
    return str(request.session.get(ANON_OWNER_KEY, ""))


def identity_now(request: HttpRequest, *, create: bool = False) -> Identity:
    """Return who is asking, for a sync view, reading the session and user now.

    With `create`, an anonymous visitor without an owner id is given one (and a session), or
    refused one (TooManyVisitors). A token's user counts without the session's owner id.
    """
    if by_token(request):
        return Identity.of(request.user)
    anonymous = not request.user.is_authenticated
    anon = anon_owner_for(request) if create and anonymous else anon_owner_of(request)
    return Identity.of(request.user, anon_owner=anon)


class ViewerCache:
    """Identities by session key, for a while: most requests then read neither session nor user.

    Only sessions that stand for someone (a user, or an anonymous owner id) are kept: one that
    stands for no one may gain an owner id under the same key, and sees nothing meanwhile.
    """

    def __init__(self, *, ttl_s: float, size: int) -> None:
        self._ttl_s = ttl_s
        self._size = size
        self._entries: OrderedDict[str, tuple[float, Identity]] = OrderedDict()
        self._lock = threading.Lock()  # sync views use it from the sync threads

    def get(self, session_key: str) -> Identity | None:
        """Return the viewer kept for `session_key`, if still fresh."""
        with self._lock:
            entry = self._entries.get(session_key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[session_key]
                return None
            self._entries.move_to_end(session_key)
            return entry[1]

    def put(self, session_key: str, viewer: Identity) -> None:
        """Keep `viewer` for `session_key` if it stands for someone."""
        if viewer.user_id is None and not viewer.anon_owner:
            return
        with self._lock:
            self._entries[session_key] = (time.monotonic() + self._ttl_s, viewer)
            self._entries.move_to_end(session_key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def forget(self, session_key: str) -> None:
        """Drop what is kept for `session_key`."""
        with self._lock:
            self._entries.pop(session_key, None)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._entries.clear()


VIEWERS = ViewerCache(ttl_s=VIEWER_TTL_S, size=VIEWER_CACHE_SIZE)
NOBODY = Identity(user_id=None)
"""A visitor without a session: sees no job."""


def viewer(request: HttpRequest) -> Identity:
    """Return who is asking, for a sync view, from a cache: the session and user are read at
    most every VIEWER_TTL_S per session and process. A token's user is known already (and
    counts under the same key as their session would, so caps and rate limits are shared)."""
    if by_token(request):
        return identity_now(request)
    return _remembered(request) or _resolve(request)


async def aviewer(request: HttpRequest) -> Identity:
    """Return who is asking, for an async view (see `viewer`)."""
    if by_token(request):
        return identity_now(request)
    return _remembered(request) or await _aresolve(request)


def _remembered(request: HttpRequest) -> Identity | None:
    session_key = request.session.session_key
    found = NOBODY if session_key is None else VIEWERS.get(session_key)
    if found is not None:
        request.session.accessed = True  # as reading it would: the answer varies on Cookie
    return found


def _resolve(request: HttpRequest) -> Identity:
    # The session key is taken before reading: a session that turns out not to exist (or whose
    # user is gone) is emptied and given no key, and then nothing is kept.
    session_key = request.session.session_key
    found = identity_now(request)
    if session_key is not None and request.session.session_key == session_key:
        VIEWERS.put(session_key, found)
    return found


_aresolve = sync_to_async(_resolve)


@receiver(user_logged_out)
def _forget_on_logout(*, request: HttpRequest | None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        VIEWERS.forget(session.session_key)
