"""SSE text follows the WHATWG event-stream rules."""

import pytest

from composer_realtime.sse import Message, encode_comment, encode_event, encode_retry
from tests.support.sse import parse_lines


def _roundtrip(raw: bytes) -> tuple[list, list, int | None]:
    return parse_lines(raw.decode().split("\n"))


def test_one_line_event_has_id_event_and_data_lines():
    assert encode_event(data='{"a":1}', event="job-update", id="7") == (
        b'id: 7\nevent: job-update\ndata: {"a":1}\n\n')


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


def test_comment_and_retry():
    assert encode_comment("keep\nalive") == b": keep alive\n\n"
    events, comments, retry = _roundtrip(encode_retry(2500) + encode_comment("hb"))
    assert (events, comments, retry) == ([], ["hb"], 2500)


def test_message_survives_the_doorbell_wire_and_renders_once():
    message = Message(id=3, event="progress-update", data='{"x":"a\\nb"}', ts=12.5, final=True)
    back = Message.from_wire(message.to_wire())
    assert back == message
    assert back.sse == b'id: 3\nevent: progress-update\ndata: {"x":"a\\nb"}\n\n'
    assert back.sse is back.sse


def test_malformed_doorbell_payload_is_refused():
    with pytest.raises(ValueError):
        Message.from_wire("not a message")
