"""PostgreSQL connections of a process: the pool's callbacks, and deadlines for web processes.

The check. With CONN_HEALTH_CHECKS Django gives the pool psycopg's `check_connection`, one
empty query before every checkout. A stream open or a poll checks a connection out once, so
that was a whole extra round trip on every one of them: two fifths of the CPU of opening 10,000
streams (py-spy, `python -m bench --profile`). A connection handed back less than
`CHECK_AFTER_IDLE_S` ago was working then; one idle for longer (a PostgreSQL restart happened
meanwhile, an idle timeout, a failover) is checked as before, and a broken one is never handed
out.

The deadlines. A database whose path goes silent (a frozen proxy, a dropped flow, a stopped
server: no reset, no error) leaves a query waiting for ever: TCP keepalive does not see a path
that something in between answers for, and the server's own statement_timeout cannot speak
through it. In a web process (`bound_web_requests`, called by composer_realtime.asgi) every
round trip therefore has a deadline on the client side, DATABASE_STATEMENT_TIMEOUT_S + 1 s:
past it the connection is closed (its protocol state is unknown), the breaker
(composer_realtime/dbhealth.py) takes note, and the caller gets an OperationalError at once.
The server gets the same statement_timeout, so that a statement that is merely slow ends on
the server first, with an error, and leaves the connection usable; not through a pooler in
transaction mode (DATABASE_TRANSACTION_POOLING), which refuses the startup option (PgBouncer:
"unsupported startup parameter: options") and would lend the connection's settings to other
clients: there the client deadline alone holds, and the pooler's own `query_timeout` bounds
the server's side (docs/scaling.md). The worker and the commands have neither: their long
transactions (a purge, a migration) are theirs to take.
"""

import time
from collections.abc import Callable
from typing import Any, Self

import psycopg
from psycopg.abc import PQGen
from psycopg.errors import _WaitTimeout  # what Connection.wait raises past its timeout
from psycopg_pool import ConnectionPool

from composer_realtime.dbhealth import BREAKER

CHECK_AFTER_IDLE_S = 1.0
CHECK_DEADLINE_S = 1.0
"""In a web process, how long the pool's check (an empty query) may take: a database that
cannot answer that within a second cannot serve a web request either. The pool may check two
idle connections in a row before it gives up, so this bounds what a frozen path costs a
request that found idle connections in the pool."""
_RETURNED_AT = "_composer_returned_at"
_DEADLINE_ATTRIBUTE = "_composer_deadline_s"
_ANSWER_MARGIN_S = 1.0
"""How much longer than the server's statement_timeout the client waits for an answer: past
the server's own deadline, silence means the server or the path is gone."""


class _Deadlines:
    """The process's deadlines: none until `bound_web_requests`."""

    round_trip_s: float | None = None
    statement_timeout_ms: int | None = None


DEADLINES = _Deadlines()


def bound_web_requests(
    *, statement_timeout_s: float, tell_server: bool, count_outage: Callable[[str], None]
) -> None:
    """Give every database round trip of this process a deadline, the server the same
    statement timeout when `tell_server` (not through a transaction pooler), and turn the
    breaker on, counting each outage with `count_outage(reason)`: a web process's requests
    never wait on a silent database (call it before the first connection)."""
    DEADLINES.statement_timeout_ms = int(statement_timeout_s * 1000) if tell_server else None
    DEADLINES.round_trip_s = statement_timeout_s + _ANSWER_MARGIN_S
    BREAKER.on_down = count_outage
    BREAKER.enabled = True


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every round trip keeps the process's deadline."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
        """Connect, asking the server for the web's statement_timeout when there is one (in
        the startup packet: no extra round trip)."""
        if DEADLINES.statement_timeout_ms is not None:
            asked = f"-c statement_timeout={DEADLINES.statement_timeout_ms}"
            kwargs["options"] = f"{kwargs.get('options') or ''} {asked}".strip()
        return super().connect(conninfo, **kwargs)

    def wait[RV](self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        """Run one round trip; past the deadline, close the connection and raise."""
        deadline = getattr(self, _DEADLINE_ATTRIBUTE, None) or DEADLINES.round_trip_s
        if DEADLINES.round_trip_s is None or deadline is None or timeout is not None:
            return super().wait(gen, interval, timeout)
        try:
            answer = super().wait(gen, interval, deadline)
        except _WaitTimeout:
            self.close()  # mid-protocol: it can never be used again (the pool drops it)
            detail = f"no answer within {deadline:g} s"
            BREAKER.failed(reason="timeout", detail=detail)
            raise psycopg.OperationalError(f"the database gave {detail}") from None
        BREAKER.answered()
        return answer


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
    setattr(conn, _DEADLINE_ATTRIBUTE, CHECK_DEADLINE_S)
    try:
        ConnectionPool.check_connection(conn)
    finally:
        setattr(conn, _DEADLINE_ATTRIBUTE, None)


POOL_CALLBACKS: dict[str, Any] = {
    "check": check_if_idle,
    "reset": note_returned,
    "connection_class": BoundedConnection,
}
"""What the settings add to OPTIONS["pool"]."""
