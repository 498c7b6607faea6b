"""How many streams this process can hold: its setting, lowered to what descriptors allow.

Every open stream is a socket. The per-process cap never exceeds what the process's
file-descriptor limit leaves once the database, Redis and the listening sockets have theirs,
so a refused stream gets the `busy` answer instead of an accept() failing for want of
descriptors (a process out of descriptors cannot even accept: its clients would time out in
the backlog).
"""

import logging
import resource

from django.conf import settings

logger = logging.getLogger(__name__)

DESCRIPTOR_HEADROOM_MIN = 64
"""Descriptors always kept out of the stream cap: database pool, Redis, listeners, files."""
DESCRIPTOR_HEADROOM_FRACTION = 0.10
"""And at least this share of the limit."""


def descriptor_cap(soft_limit: int) -> int:
    """Return how many streams a process with this open-file soft limit can hold."""
    headroom = max(DESCRIPTOR_HEADROOM_MIN, int(soft_limit * DESCRIPTOR_HEADROOM_FRACTION))
    return max(1, soft_limit - headroom)


def web_processes(*, streams: int, cores: int, soft_limit: int) -> int:
    """Return how many web processes hold `streams` open streams when each may have
    `soft_limit` open files: one per core at least, and none asked for more streams than its
    descriptors allow."""
    return max(cores, -(-streams // descriptor_cap(soft_limit)))


def process_cap() -> int:
    """Return this process's stream cap: the setting, lowered to what descriptors allow."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return int(settings.REALTIME_MAX_STREAMS_PER_PROCESS)
    return min(int(settings.REALTIME_MAX_STREAMS_PER_PROCESS), descriptor_cap(soft))


def raise_descriptor_limit() -> int:
    """Raise the open-file soft limit to the hard limit where allowed; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # e.g. an unlimited hard limit the kernel refuses
            logger.info("open-file limit left at %s (hard %s)", soft, hard)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def log_process_cap() -> None:
    """Raise the descriptor limit and log the stream caps this process will apply."""
    soft = raise_descriptor_limit()
    logger.info(
        "streams: at most %s in this process (setting %s, open-file limit %s), "
        "%s per client, %s per address",
        process_cap(),
        settings.REALTIME_MAX_STREAMS_PER_PROCESS,
        soft,
        settings.REALTIME_MAX_STREAMS_PER_CLIENT or "no cap",
        settings.REALTIME_MAX_STREAMS_PER_ADDRESS or "no cap",
    )
