"""The README's first command runs on embedded defaults: SQLite (WAL), no Redis.

Everything else in the suite runs on PostgreSQL and Redis; this test runs the same flow in
child processes on a fresh SQLite file, so the default configuration cannot quietly rot.
"""

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import ROOT, base_env, make_web, make_worker
from tests.support.sse import read_stream


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_sqlite_without_redis_runs_a_job_end_to_end(tmp_path: Path) -> None:
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'composer.sqlite3'}",
        REDIS_URL="",
        DEBUG="true",
        MEDIA_ROOT=str(tmp_path / "media"),
        JOBS_STEP_PACE_S="0.1",
        LOG_LEVEL="WARNING",
    )
    _manage(env, "migrate", "--noinput", "-v0")
    web = make_web(env, tmp_path)
    worker = make_worker(env, tmp_path)
    web.proc.start()
    worker.start()
    try:
        web.wait_ready()
        job_id = _manage(env, "create_job", "--name", "Embedded Coin")
        cookies = {"sessionid": _manage(env, "shell", "-v0", "-c", _STAFF_SESSION).split()[-1]}
        result = asyncio.run(_read(f"{web.url}/api/jobs/{job_id}/events", cookies))
    finally:
        worker.stop()
        web.proc.stop()

    seqs = [e.seq for e in result.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert result.events[-1].event == "completion-status"
    assert result.events[-1].json["status"] == "succeeded"
    assert "Traceback" not in web.proc.log()


_STAFF_SESSION = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user("embedded-staff", password="x", is_staff=True)
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


async def _read(url: str, cookies: dict[str, str]):
    async with httpx.AsyncClient(cookies=cookies) as client:
        return await read_stream(client, url, timeout=60)
