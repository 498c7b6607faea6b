"""Shared fixtures: the real PostgreSQL and Redis, and real server and worker processes.

The suite never skips for a missing service: without PostgreSQL and Redis it stops with an
error that says how to get them (scripts/test starts both).
"""

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.support.redis_server import PrivateRedis
from tests.support.servers import (
    Proc,
    WebServer,
    base_env,
    free_port,
    make_reaper,
    make_web,
    make_worker,
    serve,
)

_ONLY_WHEN_NAMED = {
    "projects": "the matrix of generated projects: `-m projects` runs it",
    "faults": "a full-length fault scenario: `-m faults` runs it",
    "benchmatrix": "the benchmark beside granian, profiled, COMPILE, SOAK or through PgBouncer: "
    "`-m benchmatrix` runs it",
}
"""Markers of long suites that run only when the `-m` expression names them."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pgbouncer",
        action="store_true",
        help="run every server, worker and reaper the tests start through a private PgBouncer "
        "in transaction mode (DATABASE_TRANSACTION_POOLING=true)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `disruptive` restart a machine-wide service (PostgreSQL): they run only
    when asked (RUN_DISRUPTIVE=1; .ci/run asks), whatever the command line selects (a bare
    `pytest tests/composer_realtime`, or an `-m` of one's own, used to run them).

    Tests marked `projects` (the whole matrix of generated projects, ~10 min; CI's plain run
    walks one project instead), `faults` (the full-length fault scenarios, minutes each;
    their short versions run by default) and `benchmatrix` (the benchmark's smoke beside
    granian, under py-spy, its SOAK, COMPILE and PgBouncer runs: three minutes that CI's 20
    cannot spare; the benchmark's own smoke runs by default) run only when the `-m`
    expression names them."""
    named = config.getoption("markexpr") or ""
    skips = {
        marker: pytest.mark.skip(reason=reason)
        for marker, reason in _ONLY_WHEN_NAMED.items()
        if marker not in named
    }
    if os.environ.get("RUN_DISRUPTIVE") != "1":
        skips["disruptive"] = pytest.mark.skip(
            reason="restarts the machine's PostgreSQL: RUN_DISRUPTIVE=1 runs it"
        )
    for item in items:
        for marker, skip in skips.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "composer_realtime.postgres":  # Django's, behind the breaker (settings.py)
        raise pytest.UsageError(
            f"the tests need PostgreSQL (DATABASE_URL points at {engine}); run scripts/test"
        )
    if not settings.REDIS_URL:
        raise pytest.UsageError("the tests need Redis (REDIS_URL is unset); run scripts/test")
    from realtime.broker import clients

    if not clients.ping():
        raise pytest.UsageError(f"Redis at {settings.REDIS_URL} does not answer; run scripts/test")


@pytest.fixture(autouse=True)
def _fresh_job_admission() -> None:
    """Start every test with no job creations, new visitors or journey records counted: many
    tests make them from one address (127.0.0.1) and would add up to the per-address rates
    within a minute."""
    from tests.support.ratelimits import clear_rate_limits

    for scope in ("create:", "visitor:", "journey:"):
        clear_rate_limits(scope)


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


def _test_database_url(application_name: str) -> str:
    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
        f"?application_name={application_name}"
    )


def _upstream() -> tuple[str, int, str]:
    db = connection.settings_dict
    return db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432), db["USER"] or "postgres"


@pytest.fixture
def pgbouncer_factory(
    transactional_db: None, artifacts_dir: Path
) -> Iterator[Callable[..., PgBouncer]]:
    """Return a function that starts a private PgBouncer in transaction mode in front of the
    test server (`pool_size` server connections per database); all stop at the end."""
    started: list[PgBouncer] = []

    def start(pool_size: int = 20) -> PgBouncer:
        host, port, user = _upstream()
        started.append(
            start_pgbouncer(
                upstream_host=host,
                upstream_port=port,
                user=user,
                log_dir=artifacts_dir,
                pool_size=pool_size,
            )
        )
        return started[-1]

    yield start
    for bouncer in started:
        bouncer.stop()


@pytest.fixture(scope="session")
def _session_pgbouncer(
    request: pytest.FixtureRequest, django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PgBouncer | None]:
    """The PgBouncer every child process goes through with --pgbouncer (None without)."""
    if not request.config.getoption("--pgbouncer"):
        yield None
        return
    host, port, user = _upstream()
    bouncer = start_pgbouncer(
        upstream_host=host,
        upstream_port=port,
        user=user,
        log_dir=tmp_path_factory.mktemp("pgbouncer"),
    )
    yield bouncer
    bouncer.stop()  # before the test database is dropped: it holds server connections


@pytest.fixture
def server_env(
    transactional_db: None, tmp_path: Path, _session_pgbouncer: PgBouncer | None
) -> Callable[..., dict[str, str]]:
    """Return a factory of environments for child processes on the test database (through
    a PgBouncer in transaction mode with --pgbouncer)."""
    media = tmp_path / "media"
    pooled = {"DATABASE_TRANSACTION_POOLING": "true"} if _session_pgbouncer is not None else {}

    def make(application_name: str = "composer-test", **overrides: str) -> dict[str, str]:
        url = _test_database_url(application_name)
        defaults = {
            **pooled,
            "DATABASE_URL": _session_pgbouncer.url(url) if _session_pgbouncer else url,
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "true",
            "MEDIA_ROOT": str(media),
            "JOBS_STEP_PACE_S": "0.2",
            "JOBS_HEARTBEAT_S": "0.3",
            "JOBS_STALE_AFTER_S": "2",
            "REALTIME_HEARTBEAT_S": "2",
            "LOG_LEVEL": "WARNING",
        }
        return base_env(**{**defaults, **overrides})

    return make


@pytest.fixture
def processes(artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[list[Proc]]:
    """Collect started processes; stop them all at the end and show their logs on failure."""
    started: list[Proc] = []
    yield started
    for proc in reversed(started):
        proc.stop(timeout=5)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for proc in started:
            print(f"----- {proc.name} log -----\n{proc.log()[-4000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def start_web(
    server_env: Callable[..., dict[str, str]], artifacts_dir: Path, processes: list[Proc]
) -> Callable[..., WebServer]:
    """Start a uvicorn web server on the test database and wait until it answers."""

    def start(
        *, port: int | None = None, application_name: str = "composer-web", **env: str
    ) -> WebServer:
        server = make_web(server_env(application_name, **env), artifacts_dir, port=port)
        processes.append(server.proc.start())
        server.wait_ready()
        return server

    return start


@pytest.fixture
def start_bound(
    server_env: Callable[..., dict[str, str]], artifacts_dir: Path, processes: list[Proc]
) -> Callable[..., WebServer]:
    """Start a server that binds where gunicorn.conf.py's BIND says (gunicorn, granian), one
    worker process (unless WEB_CONCURRENCY says otherwise) on a free port, and wait until it
    answers: `start_bound(name, args, **env)`."""

    def start(name: str, args: list[str], **env: str) -> WebServer:
        port = free_port()
        env = {"WEB_CONCURRENCY": "1", **env}
        bound = server_env(f"composer-{name}", BIND=f"127.0.0.1:{port}", **env)
        return serve(name, args, bound, port, artifacts_dir / f"{name}.log", processes)

    return start


@pytest.fixture
def start_worker(
    server_env: Callable[..., dict[str, str]], artifacts_dir: Path, processes: list[Proc]
) -> Callable[..., Proc]:
    """Start a `manage.py run_worker` process (the task worker) on the test database."""
    count = 0

    def start(**env: str) -> Proc:
        nonlocal count
        count += 1
        proc = make_worker(
            server_env("composer-worker", **env), artifacts_dir, name=f"worker-{count}"
        )
        processes.append(proc.start())
        return proc

    return start


@pytest.fixture
def start_reaper(
    server_env: Callable[..., dict[str, str]], artifacts_dir: Path, processes: list[Proc]
) -> Callable[..., Proc]:
    """Start `manage.py reap_jobs --every 0.3` on the test database."""

    def start(**env: str) -> Proc:
        proc = make_reaper(server_env("composer-reaper", **env), artifacts_dir)
        processes.append(proc.start())
        return proc

    return start


@pytest.fixture
def staff_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="staff", password="pw-staff-123", is_staff=True
    )


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="owner", password="pw-owner-123")


@pytest.fixture
def session_cookies() -> Callable[[Any], dict[str, str]]:
    """Return a function giving a fresh session cookie of a logged-in user."""
    from django.test import Client

    def login(user: Any) -> dict[str, str]:
        client = Client()  # one per login: logging in again would end the previous session
        client.force_login(user)
        return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}

    return login


@pytest.fixture
def private_redis(
    server_env: Callable[..., dict[str, str]], artifacts_dir: Path, processes: list[Proc]
) -> PrivateRedis:
    """Return a Redis server of this test's own (not started), to stop and restart at will."""
    return PrivateRedis(env=server_env(), log_dir=artifacts_dir, started=processes)
