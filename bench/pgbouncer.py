"""A private PgBouncer in transaction mode in front of a PostgreSQL server (Debian's pgbouncer:
`scripts/test` installs it), for the benchmark (`python -m bench --pgbouncer`) and the tests.

Its configuration lives in a folder of its own: every database name is passed on to the
upstream server, any user gets in without a password (the upstream trusts loopback), and each
transaction borrows one of `pool_size` server connections per database and user, so that the
transactions of different clients meet on one server connection, as in production.
PgBouncer refuses to run as root: as root it is told to become `nobody`, who must be able to
read the folder.
"""

import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BINARY = "/usr/sbin/pgbouncer"
START_TIMEOUT_S = 10.0


def configure(
    *, port: int, upstream_host: str, upstream_port: int, user: str, pool_size: int
) -> Path:
    """Write a configuration for a PgBouncer on 127.0.0.1:`port`; return its file."""
    if not Path(BINARY).is_file():
        raise FileNotFoundError(f"{BINARY} is missing: apt-get install pgbouncer (scripts/test)")
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={upstream_host} port={upstream_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 5000\n"
        # Idle server connections go soon: a database may be dropped once a run is over.
        "server_idle_timeout = 5\n"
        "ignore_startup_parameters = extra_float_digits\n"
        + ("user = nobody\n" if os.geteuid() == 0 else "")
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    return config


def command(config: Path) -> list[str]:
    """Return the command that runs PgBouncer in the foreground with `config`."""
    return [BINARY, str(config)]


def wait_listening(port: int, alive: Callable[[], bool], timeout: float = START_TIMEOUT_S) -> None:
    """Wait until PgBouncer accepts connections on `port`; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if not alive():
            raise RuntimeError("pgbouncer exited before it listened")
        if time.monotonic() > deadline:
            raise TimeoutError(f"pgbouncer did not listen on {port} within {timeout:.0f} s")
        time.sleep(0.05)


def through(url: str, port: int) -> str:
    """Return the postgres:// `url` pointed at a PgBouncer on 127.0.0.1:`port` instead."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
