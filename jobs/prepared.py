"""Hot statements, bound on the server and planned once per connection.

Django's PostgreSQL backend binds parameters on the client (it quotes each value into the SQL
text), so PostgreSQL parses and plans every statement again: for the hottest statements (the
write of a progress event runs for every event of every job), that is much of their time
(docs/performance.md, "Figures behind the code", has the measurement).
`fetchone` runs such a statement through psycopg's server-binding cursor with `prepare=True`
on Django's own connection, so it takes part in the current transaction (or commits on its
own in autocommit), and errors come out as Django's `DatabaseError`s as usual. Not for general
use: Django's query logging and execute wrappers do not see these statements.

Behind a pooler in transaction mode each transaction may run on another server connection:
one where the statement was never prepared ("does not exist"), or where another client's
statement already has its name ("already exists"). PgBouncer keeps track of protocol-level
prepared statements only from 1.21 on, with `max_prepared_statements` above 0 (0, off, is
1.21's default); 1.18, Debian 12's, does not. DATABASE_PREPARED_STATEMENTS says whether to
prepare (false by default when DATABASE_TRANSACTION_POOLING says such a pooler is in front):
a setting, not detection, because a pooler is invisible to its clients (it passes the server's
own parameters on), and what 1.18 does wrong shows only when two clients meet on one server
connection. Off, the statement is still bound on the server, unnamed: one round trip, planned
each time.
"""

from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_ONLY_WHEN_ASKED = 2**31 - 1
"""psycopg prepares a statement after this many runs, or when asked: never unasked."""


def fetchone(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run `sql` on the default connection, bound on the server and prepared unless
    DATABASE_PREPARED_STATEMENTS is off; return its first row."""
    db = connections[DEFAULT_DB_ALIAS]  # once: `connection` looks it up at each attribute
    db.ensure_connection()
    db.validate_no_broken_transaction()
    raw = db.connection
    prepare = bool(settings.DATABASE_PREPARED_STATEMENTS)
    if prepare and raw.prepare_threshold is None:  # Django turns preparing off
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with db.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(_encoded(sql), params, prepare=prepare)
        return cursor.fetchone()


@lru_cache(maxsize=32)
def _encoded(sql: str) -> bytes:
    """The statement's bytes, encoded once (a hot statement is a kilobyte of text)."""
    return sql.encode()
