"""The session engine: Django's database sessions, refusing malformed keys before any query.

Django accepts any cookie value of eight characters or more as a key and looks it up; on
PostgreSQL a value holding U+0000 (a cookie may carry it escaped) makes that query fail, a
500 on every page. The keys Django makes are 32 characters of [a-z0-9], so anything else is
no session: the visitor is anonymous, and a new session gets a new key if one is needed.
"""

from django.contrib.sessions.backends import db

KEY_LENGTH = 32
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def is_valid_key(key: object) -> bool:
    """Return True for a key of the shape Django's sessions are given."""
    return isinstance(key, str) and len(key) == KEY_LENGTH and _KEY_CHARS.issuperset(key)


class SessionStore(db.SessionStore):
    """Database sessions whose keys are only ever of Django's own shape."""

    def _validate_session_key(self, key: str | None) -> bool:
        return is_valid_key(key)
