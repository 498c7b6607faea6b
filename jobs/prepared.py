"""Hot statements, bound on the server and planned once per connection.

Django's PostgreSQL backend binds parameters on the client (it quotes each value into the SQL
text), so PostgreSQL parses and plans every statement again. For the write of a progress event,
one statement that runs a thousand times a second in a worker, that was a third of its time
(docs/performance.md, "Figures behind the code").
`fetchone` runs such a statement through psycopg's server-binding cursor with `prepare=True`
on Django's own connection, so it takes part in the current transaction (or commits on its
own in autocommit), and errors come out as Django's `DatabaseError`s as usual. Not for general
use: Django's query logging and execute wrappers do not see these statements, and a pooler in
transaction mode must support protocol-level prepared statements (PgBouncer >= 1.21).
"""

from typing import Any

import psycopg
from django.db import connection

_ONLY_WHEN_ASKED = 2**31 - 1
"""psycopg prepares a statement after this many runs, or when asked: never unasked."""


def fetchone(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run `sql` prepared on the default connection; return its first row."""
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparing off; only asked for here
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql.encode(), params, prepare=True)
        return cursor.fetchone()
