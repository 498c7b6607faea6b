"""PostgreSQL pool callbacks: check a pooled connection only when it may have gone stale.

With CONN_HEALTH_CHECKS Django gives the pool psycopg's `check_connection`, one empty query
before every checkout. A stream open or a poll checks a connection out once, so that was a
whole extra round trip on every one of them: two fifths of the CPU of opening 10,000 streams
(py-spy, `python -m bench --profile`). A connection handed back less than
`CHECK_AFTER_IDLE_S` ago was working then; one idle for longer (a PostgreSQL restart
happened meanwhile, an idle timeout, a failover) is checked as before, and a broken one is
never handed out.
"""

import time
from typing import Any

from psycopg_pool import ConnectionPool

CHECK_AFTER_IDLE_S = 1.0
_RETURNED_AT = "_composer_returned_at"


def note_returned(conn: Any) -> None:
    """Pool `reset` callback: remember when the connection came back in working order."""
    setattr(conn, _RETURNED_AT, time.monotonic())


def check_if_idle(conn: Any) -> None:
    """Pool `check` callback: raise if the connection does not work; skip the round trip
    for one returned healthy moments ago."""
    returned = getattr(conn, _RETURNED_AT, None)
    if (
        returned is not None
        and not conn.broken
        and time.monotonic() - returned < CHECK_AFTER_IDLE_S
    ):
        return
    ConnectionPool.check_connection(conn)


POOL_CALLBACKS = {"check": check_if_idle, "reset": note_returned}
"""What the settings add to OPTIONS["pool"]."""
