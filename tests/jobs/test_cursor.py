"""Where a client says how far it got: what a cursor is, and where the stream and the poll
read it."""

import json

import pytest
from django.test import RequestFactory

from jobs.cursor import (
    MAX_SEQ,
    TooManyFields,
    parse_seq,
    poll_cursor,
    query_value,
    seq_or_none,
    stream_cursor,
    too_many_fields,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("007", 7),
        ("0", 0),
        ("", None),
        ("-1", None),
        ("1.5", None),
        ("x", None),
        ("٣", None),  # a digit, but not an ASCII one
        ("9" * 40, MAX_SEQ),
        (str(MAX_SEQ + 1), MAX_SEQ),
        ("5, 3", 3),  # a header sent twice: the smallest valid value
        ("x, 4", 4),
    ],
)
def test_what_a_cursor_is(raw, expected):
    assert seq_or_none(raw) == expected


def test_no_cursor_means_from_the_start():
    assert parse_seq("junk") == 0 and parse_seq("12") == 12


def test_the_last_value_of_a_query_field_counts_and_a_missing_one_is_blank():
    assert query_value("since=1&since=4", "since") == "4"
    assert query_value("a=1", "since") == ""
    assert query_value("since=", "since") == ""


def test_a_query_string_with_too_many_fields_is_refused_with_a_clear_400(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    with pytest.raises(TooManyFields) as refused:
        query_value("a=1&b=2&c=3&d=4", "a")

    answer = too_many_fields(refused.value)

    assert answer.status_code == 400
    assert json.loads(answer.content) == {
        "error": "bad_request",
        "detail": "more than 3 query parameters",
    }


def test_the_poll_reads_since_from_its_query_string():
    assert poll_cursor("since=5") == 5
    assert poll_cursor("since=junk") == 0
    assert poll_cursor("") == 0


def test_the_stream_prefers_a_valid_last_event_id_header_over_the_query():
    factory = RequestFactory()

    assert stream_cursor(factory.get("/?last_event_id=3", HTTP_LAST_EVENT_ID="8")) == 8
    assert stream_cursor(factory.get("/?last_event_id=3", HTTP_LAST_EVENT_ID="junk")) == 3
    assert stream_cursor(factory.get("/?last_event_id=3")) == 3
    assert stream_cursor(factory.get("/")) == 0
