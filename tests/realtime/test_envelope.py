"""The Redis envelope (realtime/envelope.py): what `pack` makes comes back; nothing else does."""

import pytest

from realtime import envelope
from realtime.message import Message


def test_a_message_survives_the_envelope_and_renders_once():
    message = Message(id=3, event="progress-update", data='{"x":"a\\nb"}', ts=12.5, final=True)
    back = envelope.unpack(envelope.pack(message).encode())
    assert back == message
    assert back.sse == b'id: 3\nevent: progress-update\ndata: {"x":"a\\nb"}\n\n'
    assert back.sse is back.sse


def test_data_with_line_breaks_survives():
    message = Message(id=1, event="e", data="one\ntwo", ts=1.0)
    assert envelope.unpack(envelope.pack(message)) == message


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",  # not UTF-8
        b"not a message",
        b"x\ne\n1.0\n0\n{}",  # id not a number
        b"-1\ne\n1.0\n0\n{}",  # negative id
        b"1\n\n1.0\n0\n{}",  # no event name
        b"1\ne\nnan\n0\n{}",  # no time
        b"1\ne\n1.0\nyes\n{}",  # flag not 0/1
        b"1\ne\x00\n1.0\n0\n{}",  # NUL in the event name
    ],
)
def test_anything_else_is_refused_as_malformed(payload):
    with pytest.raises(envelope.MalformedEnvelope):
        envelope.unpack(payload)
