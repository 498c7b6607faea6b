"""The transport's one value (realtime/message.py), in process."""

from realtime.message import Message


def test_a_message_is_encoded_once_as_an_sse_block_with_its_id():
    message = Message(id=7, event="progress-update", data='{"seq":7}')
    assert message.sse == b'id: 7\nevent: progress-update\ndata: {"seq":7}\n\n'
    assert message.sse is message.sse, "computed once, shared by every stream"


def test_a_message_is_not_final_and_has_no_time_unless_told():
    message = Message(id=1, event="e", data="{}")
    assert (message.final, message.ts) == (False, 0.0)
    assert Message(id=2, event="e", data="{}", final=True, ts=5.0).final
