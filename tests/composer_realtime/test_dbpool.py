"""The pool's check: skipped for a connection handed back moments ago, run otherwise, so that
a connection PostgreSQL dropped while it sat idle is never handed out. The web's deadlines: a
round trip on a silent path ends at its deadline, a slow statement at the server's."""

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from composer_realtime import dbpool
from composer_realtime.dbhealth import BREAKER
from composer_realtime.dbpool import DEADLINES, BoundedConnection
from tests.support.faultproxy import FaultProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dropped() -> Iterator[psycopg.Connection]:
    """A real connection whose server process was terminated (as a PostgreSQL restart does)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    conn = psycopg.connect(**params, autocommit=True)
    pid = conn.info.backend_pid
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)
    yield conn
    conn.close()


def test_a_connection_idle_for_a_while_is_checked_and_a_dropped_one_refused(dropped):
    dbpool.note_returned(dropped)
    setattr(dropped, dbpool._RETURNED_AT, time.monotonic() - dbpool.CHECK_AFTER_IDLE_S - 0.1)
    with pytest.raises(psycopg.OperationalError):
        dbpool.check_if_idle(dropped)


def test_a_connection_never_seen_back_is_checked(dropped):
    with pytest.raises(psycopg.OperationalError):
        dbpool.check_if_idle(dropped)


def test_a_connection_handed_back_just_now_costs_no_round_trip(dropped):
    dbpool.note_returned(dropped)
    dbpool.check_if_idle(dropped)  # not asked: it worked a moment ago (the skip is the point)


def test_a_working_connection_passes_the_check():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        dbpool.check_if_idle(conn)
        dbpool.note_returned(conn)
        dbpool.check_if_idle(conn)


@pytest.fixture
def web_deadlines() -> Iterator[None]:
    """Give this process a web server's deadlines (1 s statements) for one test."""
    saved = (
        DEADLINES.round_trip_s,
        DEADLINES.statement_timeout_ms,
        BREAKER.enabled,
        BREAKER.on_down,
    )
    dbpool.bound_web_requests(
        statement_timeout_s=1.0, tell_server=True, count_outage=lambda reason: None
    )
    yield
    (
        DEADLINES.round_trip_s,
        DEADLINES.statement_timeout_ms,
        BREAKER.enabled,
        BREAKER.on_down,
    ) = saved
    BREAKER.answered()


def _params(**changes: object) -> dict[str, object]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return {**params, **changes}


def test_a_round_trip_on_a_silent_path_ends_at_its_deadline_and_drops_the_connection(
    web_deadlines,
):
    port = int(connection.settings_dict["PORT"] or 5432)
    with FaultProxy(port, seed=3, lifetime_s=60) as proxy:
        conn = BoundedConnection.connect(**_params(host="127.0.0.1", port=proxy.port))
        conn.autocommit = True
        assert conn.execute("SELECT 1").fetchone() == (1,)
        proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="no answer within 2 s"):
            conn.execute("SELECT 1")
        took = time.monotonic() - started
        assert conn.closed, "its protocol state is unknown: it is never used again"
        assert BREAKER.down, "the process knows: its requests are refused at once now"
        proxy.heal()
    assert 2.0 <= took < 10


def test_the_pools_check_gives_up_on_a_silent_path_within_its_own_deadline(web_deadlines):
    port = int(connection.settings_dict["PORT"] or 5432)
    with FaultProxy(port, seed=4, lifetime_s=60) as proxy:
        conn = BoundedConnection.connect(**_params(host="127.0.0.1", port=proxy.port))
        conn.autocommit = True
        proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="no answer within 1 s"):
            dbpool.check_if_idle(conn)  # idle for ever: checked
        took = time.monotonic() - started
        assert conn.closed
        proxy.heal()
    assert dbpool.CHECK_DEADLINE_S <= took < 5, "not the 2 s of a statement"


def test_a_slow_statement_is_ended_by_the_server_and_its_connection_stays_usable(
    web_deadlines,
):
    with BoundedConnection.connect(**_params(autocommit=True)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("1s",)
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(3)")
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not BREAKER.down, "the server answered: it is up"


def test_outside_a_web_process_statements_and_round_trips_are_unbounded():
    assert DEADLINES.round_trip_s is None  # only composer_realtime.asgi bounds them
    with BoundedConnection.connect(**_params(autocommit=True)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        assert conn.execute("SELECT pg_sleep(1.2)").fetchone() == ("",)
