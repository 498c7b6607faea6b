"""The database as a web process sees it while it does not answer, in this process."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from composer_realtime.dbhealth import BREAKER


@contextmanager
def database_refused() -> Iterator[None]:
    """Have the breaker (composer_realtime/dbhealth.py) refuse every new connection, as a web
    process does once the database stopped answering; the next query asks for one."""
    enabled = BREAKER.enabled
    BREAKER.enabled = True
    BREAKER.failed(reason="timeout", detail="a test says so")
    connection.close()
    try:
        yield
    finally:
        BREAKER.answered()
        BREAKER.enabled = enabled
