"""The database doorbell (realtime/doorbell.py), in process: it reads its source when the hub
says a read is due, on a thread of its own, and hands on what it found."""

import asyncio
import threading

from realtime.doorbell import DatabaseDoorbell, DoorbellSource
from realtime.message import Message
from tests.support.waits import until


class _Listener:
    """A hub as the doorbell sees it: cursors due (or not), and what it was handed."""

    def __init__(self, due: list[dict[str, int]]) -> None:
        self.due = due
        self.failed = 0
        self.delivered: list[tuple[str, int]] = []

    async def due_cursors(self) -> dict[str, int]:
        return self.due.pop(0) if self.due else {}

    def read_failed(self) -> None:
        self.failed += 1

    def deliver_if_new(self, channel: str, message: Message) -> None:
        self.delivered.append((channel, message.id))


def _ring(source: DoorbellSource, *, due: list[dict[str, int]]) -> _Listener:
    """Run a doorbell over `source` for a hub whose reads fall due as `due` says, until it
    has handed something on."""

    async def scenario() -> _Listener:
        listener = _Listener(due=due)
        doorbell = DatabaseDoorbell(source=source, poll_s=0.01)
        running = asyncio.create_task(doorbell.run(listener))
        try:
            await until(lambda: bool(listener.delivered))
        finally:
            running.cancel()
            doorbell.close()
        return listener

    return asyncio.run(scenario())


def _message(id_: int) -> Message:
    return Message(id=id_, event="e", data="{}")


def test_a_due_read_hands_on_what_the_source_found_read_off_the_loop():
    asked: list[tuple[dict[str, int], str]] = []

    def source(cursors: dict[str, int]) -> list[tuple[str, Message]]:
        asked.append((cursors, threading.current_thread().name))
        return [("a", _message(cursors["a"] + 1)), ("b", _message(1))]

    listener = _ring(source, due=[{}, {"a": 4, "b": 0}])  # nothing due, then both channels
    assert listener.delivered == [("a", 5), ("b", 1)]
    assert [cursors for cursors, _ in asked] == [{"a": 4, "b": 0}], "read only when due"
    assert asked[0][1].startswith("hub-db"), "on the doorbell's own thread"


def test_a_failed_read_is_reported_and_the_doorbell_keeps_polling():
    calls = 0

    def source(cursors: dict[str, int]) -> list[tuple[str, Message]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return [("a", _message(1))]

    listener = _ring(source, due=[{"a": 0}, {"a": 0}])
    assert (listener.failed, listener.delivered) == (1, [("a", 1)])
