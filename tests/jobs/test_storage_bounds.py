"""Bounded storage: after purge_old nothing outlives retention (jobs, their folders, orphaned
artifacts, expired sessions), and the compile cache keeps within its size and age."""

import io
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from jobs import services
from jobs.generation import compile as solc
from jobs.models import Job

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Bounded Coin", "template": "token"}


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return tmp_path / "media"


@pytest.fixture
def cache_dir(settings, tmp_path: Path) -> Path:
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path / "build-cache")
    return tmp_path / "build-cache" / "solc"


def _finished_with_artifact(*, days_ago: float) -> tuple[Job, str]:
    job = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=job)
    name = default_storage.save(f"projects/{job.pk}/coin.zip", ContentFile(b"zip"))
    services.job_complete(job=job, artifact_name=name)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    return job, name


def test_purge_old_leaves_no_folder_no_orphan_and_no_expired_session(media: Path):
    _, old_name = _finished_with_artifact(days_ago=40)
    kept, kept_name = _finished_with_artifact(days_ago=1)
    deleted_in_admin, orphan_name = _finished_with_artifact(days_ago=1)
    Job.objects.filter(pk=deleted_in_admin.pk).delete()  # the admin leaves its file
    (media / "projects" / "2026" / "11").mkdir(parents=True)  # an empty folder of old
    expired, live = Client(), Client()
    for client in (expired, live):
        client.post("/wizard/basics/", {"name": "Session Coin"})
    Session.objects.filter(session_key=expired.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    call_command("purge_old", "--days", "30", stdout=io.StringIO())

    folders = sorted(p.relative_to(media).as_posix() for p in media.glob("**/") if p != media)
    assert folders == ["projects", f"projects/{kept.pk}"]
    assert default_storage.exists(kept_name)
    assert not default_storage.exists(old_name) and not default_storage.exists(orphan_name)
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session.session_key]


def test_a_folder_of_a_live_job_without_its_file_yet_stays(media: Path):
    job = services.job_create(owner=None, params=PARAMS)
    default_storage.save(f"projects/{job.pk}/coin.zip", ContentFile(b"zip"))
    assert services.artifacts_sweep() == 0
    assert (media / "projects" / str(job.pk) / "coin.zip").exists()


def _entry(cache_dir: Path, *, size: int, used_s_ago: float) -> Path:
    key = uuid.uuid4().hex * 2
    path = cache_dir / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    used = time.time() - used_s_ago
    os.utime(path, (used, used))
    return path


def test_the_compile_cache_drops_what_is_too_old_then_the_least_recently_used(cache_dir: Path):
    ancient = _entry(cache_dir, size=10, used_s_ago=40 * 86_400)
    lru = [_entry(cache_dir, size=1000, used_s_ago=3600 * (5 - i)) for i in range(5)]

    trimmed = solc.cache_trim(max_bytes=3000, max_age_s=30 * 86_400)

    assert (trimmed.removed, trimmed.kept, trimmed.kept_bytes) == (3, 3, 3000)
    assert not ancient.exists()
    assert [p.exists() for p in lru] == [False, False, True, True, True]
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(
        {p.parent.name for p in lru[2:]}
    ), "emptied folders are removed"


def test_reading_an_entry_makes_it_recently_used(cache_dir: Path):
    key = "ab" + "0" * 62
    path = cache_dir / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"contracts": {}}')
    os.utime(path, (0, 0))

    assert solc._cached_output(key) == {"contracts": {}}

    assert path.stat().st_mtime > time.time() - 60
    assert solc.cache_trim(max_bytes=10**6, max_age_s=86_400).removed == 0


def test_purge_old_trims_the_compile_cache_to_the_settings(settings, cache_dir: Path, media):
    settings.JOBS_BUILD_CACHE_MAX_MB = 1
    settings.JOBS_BUILD_CACHE_MAX_AGE_DAYS = 1
    young = [_entry(cache_dir, size=400_000, used_s_ago=60 * i) for i in range(4)]
    old = _entry(cache_dir, size=10, used_s_ago=2 * 86_400)

    call_command("purge_old", stdout=io.StringIO())

    assert not old.exists()
    assert [p.exists() for p in young] == [True, True, False, False]  # 1 MB: two fit
