"""Django's PostgreSQL backend with the breaker (composer_realtime/dbhealth.py) before the pool.

Asking the pool for a connection is where a request would wait on a database that does not
answer (the pool's timeout, a connect's timeout, the check's deadline); this is the one place
that every connection of the ORM goes through, so the breaker sits here: while the database
is down a request is refused without waiting, and a failure to get a connection counts as the
database not answering. `ENGINE = "composer_realtime.postgres"` (settings.py).
"""

from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import PoolTimeout

from composer_realtime.dbhealth import BREAKER
from composer_realtime.dbpool import DEADLINES


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL wrapper; a connection is asked for only while the database
    answers (or to try it again)."""

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        """Return a connection from the pool, or raise at once while the database is down."""
        if BREAKER.down:
            BREAKER.admit(trial_s=(DEADLINES.round_trip_s or 0) + self._pool_wait_s())
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError as error:
            reason = "pool" if isinstance(error, PoolTimeout) else "connect"
            BREAKER.failed(reason=reason, detail=f"{reason}: {error}")
            raise

    def _pool_wait_s(self) -> float:
        pool = self.settings_dict["OPTIONS"].get("pool")
        return float(pool.get("timeout", 30)) if isinstance(pool, dict) else 30.0
