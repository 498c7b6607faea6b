"""The two systems under test, set up and served the same way: ours and django-eventstream.

Each has its own database on the PostgreSQL server of DATABASE_URL (dropped and made anew
at the start of a benchmark, with a connection limit so that a run can never take every
connection of a server that others use), shares Redis db 0 (our channels are `job:<uuid>`,
the peer's one channel is `events_channel`), and runs under gunicorn.conf.py with the same
worker class, worker count and limits. Ours can also run under granian
(bench/granian_serve.py: same environment, same worker count; `--servers`),
reported as the system `ours-granian`.
"""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import control, pgbouncer
from bench.control import ROOT, Child

SEED_TIMEOUT_S = 900.0
READY_TIMEOUT_S = 60.0
POOLED_ROLES = frozenset({"web", "pub", "worker"})
"""The processes that go through the PgBouncer of `--pgbouncer` (not migrate, seed, clients)."""
SERVERS = ("gunicorn", "granian")
"""The servers ours can run under: gunicorn.conf.py (production) and granian (the
alternative of issue 16)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str, application_name: str = "") -> str:
    """Return `url` pointing at database `name`, tagged with an application_name."""
    parts = urlsplit(url)
    query = f"application_name={application_name}" if application_name else ""
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", query, ""))


def admin_dsn(url: str) -> str:
    """Return a libpq DSN for the server's maintenance database."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))


def recreate_database(url: str, name: str, *, connection_limit: int) -> None:
    """Drop database `name` (closing its connections) and create it empty."""
    import psycopg

    with psycopg.connect(admin_dsn(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" CONNECTION LIMIT {int(connection_limit)}')


def drop_database(url: str, name: str) -> None:
    """Drop database `name` if it exists."""
    import psycopg

    with psycopg.connect(admin_dsn(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class System:
    """How to set up, serve, seed and publish to one system."""

    name: str
    """"ours" or "peer"."""
    python: Path
    """The interpreter of its venv."""
    database: str
    """Its database name."""
    database_url: str
    """The server's URL (any database): the benchmark swaps in its own."""
    redis_url: str
    secret_key: str
    web_processes: int
    pool_size: int
    log_dir: Path
    registry: list[Child]
    session: str = ""
    anonymous: bool = False
    """Send no session cookie (the peer's configuration that needs no database per stream)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    server: str = "gunicorn"
    """What serves it: "gunicorn" (gunicorn.conf.py) or "granian" (ours only)."""
    pooler_port: int = 0
    """A PgBouncer in transaction mode on this port that its web processes, publishers and
    workers go through (ours only; 0: straight to PostgreSQL)."""

    @property
    def label(self) -> str:
        """Return the name its runs are reported under: "ours", "peer", "ours-granian"."""
        return self.name if self.server == "gunicorn" else f"{self.name}-{self.server}"

    @property
    def web_app(self) -> str:
        """Return the application_name of the web processes' database connections."""
        return f"bench-{self.name}-web"

    @property
    def stream_path(self) -> str:
        """Return the stream URL path with a `{job}` placeholder."""
        return "/api/jobs/{job}/events" if self.name == "ours" else "/events/job-{job}/"

    @property
    def cookie(self) -> str:
        """Return the Cookie header value the clients send ("" for none)."""
        return f"sessionid={self.session}" if self.session and not self.anonymous else ""

    def env(self, role: str) -> dict[str, str]:
        """Return the environment of a process of this system in `role` (web, pub, seed)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PEER_"))}
        url = with_database(self.database_url, self.database, f"bench-{self.name}-{role}")
        env.update(
            {
                "SECRET_KEY": self.secret_key,
                "DEBUG": "false",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
                "LOG_LEVEL": "WARNING",
                # One load generator stands for thousands of people: no per-client or
                # per-address caps (a cap would turn the run into busy answers).
                "REALTIME_MAX_STREAMS_PER_CLIENT": "0",
                "REALTIME_POLL_RATE": "0",
                "REALTIME_MAX_STREAMS_PER_ADDRESS": "0",
                "DATABASE_POOL_SIZE": str(self.pool_size),
                # Plain HTTP on loopback: production's redirect to HTTPS would answer 301.
                "SECURE_SSL_REDIRECT": "false",
            }
        )
        if self.name == "ours":
            pooled = bool(self.pooler_port) and role in POOLED_ROLES
            env.update(
                {
                    "DJANGO_SETTINGS_MODULE": "composer_realtime.settings",
                    "DATABASE_URL": pgbouncer.through(url, self.pooler_port) if pooled else url,
                    "REDIS_URL": self.redis_url,
                }
                | ({"DATABASE_TRANSACTION_POOLING": "true"} if pooled else {})
            )
        else:
            env.update(
                {
                    "DJANGO_SETTINGS_MODULE": "bench.peer.settings",
                    "PEER_DATABASE_URL": url,
                    "PEER_REDIS_URL": self.redis_url,
                }
            )
        env.update(self.extra_env)
        return env

    def prepare(self, *, connection_limit: int) -> None:
        """Make the database anew, migrate it and create the clients' session."""
        recreate_database(self.database_url, self.database, connection_limit=connection_limit)
        manage = ["manage.py"] if self.name == "ours" else ["-m", "django"]
        self._run([str(self.python), *manage, "migrate", "--noinput", "-v0"], "migrate")
        seed = self.log_dir / f"{self.name}-session.json"
        module = "bench.seed" if self.name == "ours" else "bench.peer.seed"
        args = ["--session"] if self.name == "ours" else []
        self._run([str(self.python), "-m", module, "--out", str(seed), *args], "seed")
        self.session = json.loads(seed.read_text())["session"]

    def make_jobs(self, count: int, *, start: bool = False, template: str = "token") -> list[str]:
        """Return `count` fresh jobs (ours: through job_create; the peer: channel names)."""
        if self.name != "ours":
            return [str(uuid.uuid4()) for _ in range(count)]
        out = self.log_dir / f"jobs-{time.time_ns()}.json"
        argv = [str(self.python), "-m", "bench.seed", "--out", str(out), "--jobs", str(count)]
        argv += ["--template", template]
        self._run([*argv, *(["--start"] if start else [])], "seed")
        jobs: list[str] = json.loads(out.read_text())["jobs"]
        return jobs

    def server_argv(self) -> list[str]:
        """Return the command of its server: gunicorn with gunicorn.conf.py, or granian."""
        if self.server == "granian":
            if self.name != "ours":
                raise ValueError("only ours runs under granian (granian_serve.py is ours)")
            return [str(self.python), "-m", "bench.granian_serve"]
        app = (
            "composer_realtime.asgi:application"
            if self.name == "ours"
            else "bench.peer.asgi:application"
        )
        gunicorn = str(self.python.parent / "gunicorn")
        return [gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), app]

    def start_server(self, port: int, tag: str) -> Child:
        """Start its server (gunicorn.conf.py, or granian) on 127.0.0.1:`port`, with one
        worker process per `web_processes`; return once every worker answers."""
        env = self.env("web") | {
            "BIND": f"127.0.0.1:{port}",
            "GRACEFUL_TIMEOUT": "5",
            "WEB_CONCURRENCY": str(self.web_processes),
        }
        server = control.spawn(
            f"{self.label}-server-{tag}",
            self.server_argv(),
            env=env,
            log_dir=self.log_dir,
            registry=self.registry,
        )
        wait_http(port, "/healthz" if self.name == "ours" else "/", server)
        deadline = time.monotonic() + READY_TIMEOUT_S
        from bench.measure import children

        while len(children(server.popen.pid)) < self.web_processes:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: workers did not start")
            time.sleep(0.1)
        for _ in range(self.web_processes * 4):  # let every worker boot and answer once
            wait_http(port, "/healthz" if self.name == "ours" else "/", server)
        return server

    def publisher_argv(self, spec: Path, out: Path) -> list[str]:
        """Return the command of one publisher process."""
        module = "bench.publisher" if self.name == "ours" else "bench.peer.publisher"
        return [str(self.python), "-m", module, "--spec", str(spec), "--out", str(out)]

    def _run(self, argv: list[str], what: str) -> None:
        import subprocess

        log = self.log_dir / f"{self.name}-{what}.log"
        with log.open("ab") as out:
            done = subprocess.run(
                argv,
                cwd=ROOT,
                env=self.env(what),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=SEED_TIMEOUT_S,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} {what} failed:\n{control.tail(log)}")


def wait_http(port: int, path: str, server: Child, timeout: float = READY_TIMEOUT_S) -> None:
    """Wait until the server answers HTTP on `path` (any status below 500)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited:\n{control.tail(server.log_path)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(
        f"{server.name} did not answer in {timeout:.0f}s:\n{control.tail(server.log_path)}"
    )


def ours(**kwargs: Any) -> System:
    """Return our system, run from this interpreter's venv."""
    return System(name="ours", python=Path(sys.executable), **kwargs)


def peer(python: Path, **kwargs: Any) -> System:
    """Return django-eventstream, run from its own venv."""
    return System(name="peer", python=python, **kwargs)
