"""Where a client says how far it got: what a cursor is, the stream's and the poll's, and the
query string they are read from (the status view's and its ASGI shortcut's alike).

The stream's cursor comes from the `Last-Event-ID` header (EventSource sends it when it
reconnects), else from `?last_event_id=` (a page's first connection, or a client that cannot
set headers). A header that holds no cursor does not hide a valid query value.

Query strings are read here without `request.GET`: past DATA_UPLOAD_MAX_NUMBER_FIELDS that
raises, and under DEBUG the error page itself reads `request.GET` again and turns a 400 into a
500. Too many fields get a clear 400 instead.
"""

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from api.errors import error_response

MAX_SEQ = 10**9
"""Cursors beyond it count as it: no job has that many events, and the stream clamps a cursor
to its job's last seq anyway."""
_MAX_DIGITS = len(str(MAX_SEQ))


def seq_or_none(raw: str) -> int | None:
    """Return the cursor in `raw`, or None when it holds none.

    A cursor is a decimal integer >= 0, blanks around it ignored; a larger one than MAX_SEQ
    counts as MAX_SEQ. Several comma-separated values (a header sent twice, which servers join
    with commas) give the smallest valid one: nothing is lost, and a client that keeps the
    highest seq drops the repeats.
    """
    values = [_one_seq(part) for part in raw.split(",")] if "," in raw else [_one_seq(raw)]
    valid = [value for value in values if value is not None]
    return min(valid) if valid else None


def _one_seq(raw: str) -> int | None:
    raw = raw.strip()
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    return MAX_SEQ if len(raw.lstrip("0")) > _MAX_DIGITS else min(int(raw), MAX_SEQ)


def parse_seq(raw: str) -> int:
    """Return the cursor in `raw`; 0 (from the start) when it holds none."""
    return seq_or_none(raw) or 0


class TooManyFields(ValueError):
    """The query string has more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS."""


def query_value(query_string: str, name: str) -> str:
    """Return the last value of `name` in `query_string`, "" when absent; raise TooManyFields
    past DATA_UPLOAD_MAX_NUMBER_FIELDS fields."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=limit)
    except ValueError:
        raise TooManyFields(f"more than {limit} query parameters") from None
    return next((value for key, value in reversed(pairs) if key == name), "")


def stream_cursor(request: HttpRequest) -> int:
    """Return the stream's cursor: Last-Event-ID when it holds one, else ?last_event_id=."""
    # META, not request.headers: that would build (and keep, per open stream) a header dict.
    header = request.META.get("HTTP_LAST_EVENT_ID")
    from_header = seq_or_none(header) if header is not None else None
    if from_header is not None:
        return from_header
    return parse_seq(query_value(request.META.get("QUERY_STRING", ""), "last_event_id"))


def poll_cursor(query_string: str) -> int:
    """Return the poll's cursor in its query string, ?since=; 0 when absent or malformed."""
    return parse_seq(query_value(query_string, "since"))


def too_many_fields(error: TooManyFields) -> JsonResponse:
    """Return the 400 for a query string with too many fields."""
    return error_response(400, str(error))
