"""The Redis envelope (realtime/envelope.py): what `pack` makes comes back; nothing else does."""

import pytest

from realtime import envelope
from realtime.message import Message
from realtime.stages import Trace


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


TRACE = Trace(sent=1796640000.123456, statement_s=0.00025, commit_s=0.0012, publish_s=None)


def test_a_trace_travels_with_its_message_and_a_stage_not_measured_stays_unmeasured():
    message = Message(id=4, event="progress-update", data="{}", ts=1796640000.1)
    payload = envelope.pack(message, TRACE)
    back, trace = envelope.unpack_traced(payload, received=42.0)
    assert back == message and back.received == 42.0
    assert trace == TRACE
    assert " - " not in envelope.pack(message) and payload.split("\n")[2].endswith(" -")


def test_an_envelope_without_a_trace_has_none_and_a_newer_writers_extra_fields_are_ignored():
    message = Message(id=1, event="e", data="{}", ts=5.0)
    assert envelope.unpack_traced(envelope.pack(message)) == (message, None)
    newer = envelope.pack(message, TRACE).replace("\n0\n", " 0.5 more\n0\n", 1)
    assert envelope.unpack_traced(newer) == (message, TRACE)


@pytest.mark.parametrize(
    "times",
    [
        "1.0 2.0",  # a trace cut short
        "1.0 2.0 x 0.1 0.1",  # a stage that is not a number
        "1.0 inf 0.1 0.1 0.1",  # a send time that is no time
        "1.0 2.0 nan - -",
    ],
)
def test_a_garbled_trace_is_refused_as_malformed(times):
    with pytest.raises(envelope.MalformedEnvelope):
        envelope.unpack(f"1\ne\n{times}\n0\n{{}}")
