"""The status poll's protocol, shared by its view and the ASGI shortcut in front of it: the
answer's validator (a weak ETag fixed by the job's last seq and the poll's cursor) and the
header a client sends on its first poll after leaving SSE."""

import uuid

from django.utils.http import parse_etags

FALLBACK_HEADER = "X-Realtime-Fallback"
"""Sent by the page's client on its first poll after leaving SSE; the value is the reason."""
_TAG_PREFIX = 'W/"'


def etag_of(job_id: uuid.UUID | str, last_seq: int, since: int) -> str:
    """Return the validator of the answer for `job_id` at `last_seq` to a poll from `since`."""
    return f'{_TAG_PREFIX}{job_id}-{last_seq}-{since}"'


def parse_etag(tag: str) -> tuple[str, int, int] | None:
    """Return (job id, last seq, since) of a validator made by `etag_of`, else None."""
    if not tag.startswith(_TAG_PREFIX) or not tag.endswith('"'):
        return None
    body = tag[len(_TAG_PREFIX) : -1]
    job_id, dash, rest = body[:36], body[36:37], body[37:]
    last, _, since = rest.partition("-")
    if dash != "-" or not last.isdigit() or not since.isdigit():
        return None
    return job_id, int(last), int(since)


def offers(header: str, tag: str) -> bool:
    """Return True when an If-None-Match header names `tag` (weak comparison)."""
    wanted = tag.removeprefix("W/")
    return any(offered.removeprefix("W/") == wanted for offered in parse_etags(header))
