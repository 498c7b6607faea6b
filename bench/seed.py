"""Make what a run needs in the benchmark's own database: a staff session and fresh jobs.

`python -m bench.seed --out FILE [--jobs N] [--start] [--session] [--template T]` writes
`{"session": key or null, "jobs": [uuid, …]}`. Jobs go through jobs.services.job_create (the
public API; no task worker runs during most of the benchmark, so they stay queued) and, with
--start, job_start (running). They belong to no one: staff may watch them all, as the
session's user is. `--template`: token by default. Each job's name is its own (with the run's
tag), so that no compile is answered from a cache.
Every run gets fresh jobs, so that a stream opened without a cursor replays only their first
events, not those of an earlier run.
"""

import argparse
import json
import secrets
import sys


def make_session() -> str:
    """Return the key of a new session of the staff user `bench` (created if needed)."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": False}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def make_jobs(count: int, *, start: bool, template: str = "token") -> list[str]:
    """Create `count` jobs through the services; return their ids."""
    from jobs.services import job_create, job_start

    tag = secrets.token_hex(3)
    ids = []
    for index in range(count):
        params = {"name": f"bench {tag} {index}", "template": template}
        job = job_create(owner=None, params=params)
        if start:
            job_start(job=job)
        ids.append(str(job.pk))
    return ids


def main(argv: list[str] | None = None) -> int:
    """Seed and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--start", action="store_true")
    parser.add_argument("--session", action="store_true")
    parser.add_argument("--template", default="token")
    args = parser.parse_args(argv)
    import django

    django.setup()
    result = {
        "session": make_session() if args.session else None,
        "jobs": make_jobs(args.jobs, start=args.start, template=args.template),
    }
    with open(args.out, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
