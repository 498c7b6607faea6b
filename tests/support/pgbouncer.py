"""A private PgBouncer (Debian's, 1.18 here) in transaction mode in front of the test server,
on a free port, started and stopped by the tests (bench/pgbouncer.py configures it)."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench import pgbouncer
from tests.support.servers import Proc, free_port


@dataclass
class PgBouncer:
    """A running PgBouncer in transaction mode."""

    proc: Proc
    port: int
    config: Path

    def url(self, direct_url: str) -> str:
        """Return `direct_url` (a postgres:// URL of the tests' server) through this pooler."""
        return pgbouncer.through(direct_url, self.port)

    def stop(self) -> None:
        """Stop it (its server connections close with it) and remove its folder."""
        self.proc.stop(timeout=5)
        shutil.rmtree(self.config.parent, ignore_errors=True)


def start_pgbouncer(
    *, upstream_host: str, upstream_port: int, user: str, log_dir: Path, pool_size: int = 20
) -> PgBouncer:
    """Start a PgBouncer in transaction mode in front of `upstream_host:upstream_port` and
    wait until it accepts connections."""
    port = free_port()
    config = pgbouncer.configure(
        port=port,
        upstream_host=upstream_host,
        upstream_port=upstream_port,
        user=user,
        pool_size=pool_size,
    )
    proc = Proc(
        f"pgbouncer-{port}", pgbouncer.command(config), dict(os.environ), log_dir / "pgbouncer.log"
    )
    proc.start()
    bouncer = PgBouncer(proc=proc, port=port, config=config)

    def alive() -> bool:
        return proc.popen is not None and proc.popen.poll() is None

    try:
        pgbouncer.wait_listening(port, alive=alive)
    except (RuntimeError, TimeoutError) as error:
        bouncer.stop()
        raise RuntimeError(f"{error}:\n{proc.log()[-2000:]}") from error
    return bouncer
