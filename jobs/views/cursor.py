"""Where a client says how far it got: the stream's and the poll's cursor, and bad input.

The stream's cursor comes from the `Last-Event-ID` header (EventSource sends it when it
reconnects), else from `?last_event_id=` (a page's first connection, or a client that cannot
set headers). A header that holds no cursor does not hide a valid query value. What a cursor
is, and what a repeated or oversized one means, is `jobs.wire.seq_or_none`'s to say.

Query strings are read here without `request.GET`: past DATA_UPLOAD_MAX_NUMBER_FIELDS that
raises, and under DEBUG the error page itself reads `request.GET` again and turns a 400 into a
500. Too many fields get a clear 400 instead.
"""

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from jobs.wire import parse_seq, seq_or_none


class TooManyFields(ValueError):
    """The query string has more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS."""


def query_value(request: HttpRequest, name: str) -> str:
    """Return the last value of `name` in the query string, "" when absent."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    try:
        pairs = parse_qsl(
            request.META.get("QUERY_STRING", ""), keep_blank_values=True, max_num_fields=limit
        )
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
    return parse_seq(query_value(request, "last_event_id"))


def poll_cursor(request: HttpRequest) -> int:
    """Return the poll's cursor, ?since=; 0 when absent or malformed."""
    return parse_seq(query_value(request, "since"))


def too_many_fields(error: TooManyFields) -> JsonResponse:
    """Return the 400 for a query string with too many fields."""
    return JsonResponse({"error": "bad_request", "detail": str(error)}, status=400)
