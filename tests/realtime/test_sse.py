"""SSE text follows the WHATWG event-stream rules (realtime/sse.py)."""

from collections.abc import AsyncIterator

import pytest

from realtime.sse import encode_event, event_stream_head, event_stream_response, no_content
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


def test_a_stream_response_is_proxy_proof_and_runs_its_cleanups_even_unstarted():
    async def content() -> AsyncIterator[bytes]:
        yield b"data: x\n\n"

    closed: list[bool] = []
    response = event_stream_response(content())
    response.on_close(lambda: closed.append(True))
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache, no-transform"
    assert response["X-Accel-Buffering"] == "no" and not response.has_header("Content-Encoding")
    response.close()
    assert closed == [True]


def test_a_streams_head_has_its_headers_and_no_body():
    response = event_stream_head()
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["X-Accel-Buffering"] == "no" and response.content == b""


def test_no_content_is_a_bare_204():
    response = no_content()
    assert response.status_code == 204 and not response.has_header("Content-Type")
