"""Slots of open streams: per client (user or session), per client address, per process.

Counted per process: a client whose streams land on several processes may hold up to the cap
on each. The caps protect the process from one client, not account for clients exactly.
Sessions cost nothing to make, so the per-client cap alone would not stop one address from
opening thousands of streams; the per-address cap does, generous because many people may
share one address (a company's proxy). The process's own cap is realtime/capacity.py's.
"""

from django.conf import settings

from realtime import metrics
from realtime.capacity import process_cap


class StreamSlots:
    """Count open streams per client key, per client address and in total."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] = {}
        self._by_address: dict[str, int] = {}
        self.total = 0

    def acquire(self, key: str, address: str = "") -> bool:
        """Take a slot for `key` from `address` ("" = unknown, not capped per address);
        return False, counted by the cap that was full, when the client, its address or the
        process is at its cap."""
        full = self.full_cap(key, address)
        if full:
            metrics.stream_busy(cap=full)
            return False
        self._by_key[key] = self._by_key.get(key, 0) + 1
        if address:
            self._by_address[address] = self._by_address.get(address, 0) + 1
        self.total += 1
        return True

    def full_cap(self, key: str, address: str = "") -> str:
        """Return which cap a new stream of `key` from `address` would exceed ("" for none)."""
        if self.total >= process_cap():
            return "process"
        if _full(self._by_key, key, settings.REALTIME_MAX_STREAMS_PER_CLIENT):
            return "client"
        if address and _full(self._by_address, address, settings.REALTIME_MAX_STREAMS_PER_ADDRESS):
            return "address"
        return ""

    def release(self, key: str, address: str = "") -> None:
        """Give back a slot taken by `acquire`."""
        _give_back(self._by_key, key)
        if address:
            _give_back(self._by_address, address)
        self.total = max(0, self.total - 1)


def _full(held: dict[str, int], name: str, cap: int) -> bool:
    return bool(cap) and held.get(name, 0) >= cap


def _give_back(held: dict[str, int], name: str) -> None:
    count = held.get(name, 0)
    if count <= 1:
        held.pop(name, None)
    else:
        held[name] = count - 1


SLOTS = StreamSlots()
"""The process's slots (every event loop of it shares the process's descriptors)."""
