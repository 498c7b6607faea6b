"""Personal API tokens as text: making one, recognising one, and its stored digest.

A token is `crt_` followed by 32 random bytes (URL-safe base64). Only its digest is stored:
HMAC-SHA256 keyed with the SECRET_KEY. A fast keyed hash is enough, and a slow password hash
would be wrong here: the token carries 256 random bits, so no dictionary or brute force can
reach it from a leaked digest, while a slow hash (PBKDF2, argon2: tens of milliseconds by
design) would be paid on every stream open and every poll; and a hash without a per-row salt is
what lets one indexed query find the token. The key means a copy of the table alone does not
even let anyone check a guess. Rotating SECRET_KEY invalidates every token (issue new ones).
"""

import secrets

from django.utils.crypto import salted_hmac

PREFIX = "crt_"
"""Marks the text as a Composer Realtime token (and lets secret scanners spot one)."""
_RANDOM_BYTES = 32
_LENGTH = len(PREFIX) + 43  # token_urlsafe(32) is 43 characters
SHOWN = len(PREFIX) + 6
"""How much of a token the admin and the command show to recognise it by."""
_SALT = "api.tokens.digest"


def generate() -> str:
    """Return a new random token."""
    return PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def is_well_formed(raw: str) -> bool:
    """Return True when `raw` looks like a token (no query is spent on anything else)."""
    return (
        len(raw) == _LENGTH
        and raw.startswith(PREFIX)
        and raw.isascii()
        and all(c.isalnum() or c in "-_" for c in raw[len(PREFIX) :])
    )


def digest(raw: str) -> str:
    """Return the stored form of a token: its HMAC-SHA256 under the SECRET_KEY, in hex."""
    return salted_hmac(_SALT, raw, algorithm="sha256").hexdigest()


def shown_part(raw: str) -> str:
    """Return the beginning of a token, kept to recognise it in lists."""
    return raw[:SHOWN]
