"""SSE text follows the WHATWG event-stream rules (realtime/sse.py)."""

import pytest

from realtime.sse import encode_event
from tests.support.sse import parse_lines


def _roundtrip(raw: bytes) -> tuple[list, list, int | None]:
    return parse_lines(raw.decode().split("\n"))


def test_one_line_event_has_id_event_and_data_lines():
    assert encode_event(data='{"a":1}', event="job-update", id="7") == (
        b'id: 7\nevent: job-update\ndata: {"a":1}\n\n'
    )


@pytest.mark.parametrize("data", ["one\ntwo", "one\r\ntwo", "one\rtwo", "\nlead", "trail\n"])
def test_line_breaks_in_data_become_several_data_lines_and_no_bare_cr(data):
    raw = encode_event(data=data, event="x", id="1")
    assert b"\r" not in raw
    events, _, _ = _roundtrip(raw)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert [e.data for e in events] == [expected]


@pytest.mark.parametrize("bad", ["1\n2", "1\r", "a\x00b"])
def test_id_and_event_refuse_line_breaks_and_nul(bad):
    with pytest.raises(ValueError, match="must not contain"):
        encode_event(data="x", id=bad)
    with pytest.raises(ValueError, match="must not contain"):
        encode_event(data="x", event=bad)


def test_retry_rides_in_an_event_block():
    raw = encode_event(event="x", data="{}", retry_ms=2500)
    assert raw == b"retry: 2500\nevent: x\ndata: {}\n\n"
    events, comments, retry = _roundtrip(raw)
    assert ([e.event for e in events], comments, retry) == (["x"], [], 2500)
