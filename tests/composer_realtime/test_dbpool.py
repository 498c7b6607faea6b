"""The pool's check: skipped for a connection handed back moments ago, run otherwise, so that
a connection PostgreSQL dropped while it sat idle is never handed out."""

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from composer_realtime import dbpool

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
