"""The per-process viewer cache (jobs.access.VIEWERS) never lets anyone see more than the session
it was read for: it is keyed on the session key, forgets a session at logout, keeps only
sessions that stand for someone, and lets an entry go after its time."""

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.access import ANON_OWNER_KEY, VIEWERS, Identity, ViewerCache
from tests.support.ratelimits import clear_rate_limits

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Cached Coin", "template": "token"}
ALICE = Identity(user_id=1, is_staff=False, anon_owner="")


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> None:
    settings.REALTIME_POLL_RATE = 0
    clear_rate_limits()
    VIEWERS.clear()


def _status(client: Client, job: Any) -> int:
    return client.get(reverse("jobs:status", args=[job.pk])).status_code


def test_a_logged_out_session_sees_nothing_even_with_its_old_cookie(owner: Any) -> None:
    job = services.job_create(owner=owner, params=PARAMS)
    client = Client()
    client.force_login(owner)
    assert _status(client, job) == 200  # read once: now remembered for this session key
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert VIEWERS.get(old_cookie) is not None

    client.logout()
    assert VIEWERS.get(old_cookie) is None, "logout forgets the session at once"
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert _status(replay, job) == 404


def test_what_one_session_is_remembered_as_never_answers_another(
    owner: Any, django_user_model: Any
) -> None:
    job = services.job_create(owner=owner, params=PARAMS)
    mine, theirs = Client(), Client()
    mine.force_login(owner)
    theirs.force_login(django_user_model.objects.create_user(username="mallory", password="x"))
    for _ in range(3):
        assert _status(mine, job) == 200
        assert _status(theirs, job) == 404


def test_an_anonymous_session_is_remembered_only_once_it_owns_something() -> None:
    anonymous = Client()
    session = anonymous.session
    session["unrelated"] = 1
    session.save()
    job = services.job_create(owner=None, params=PARAMS, anon_owner="anon-123")
    assert _status(anonymous, job) == 404
    assert VIEWERS.get(session.session_key) is None, "a session standing for no one is not kept"

    session[ANON_OWNER_KEY] = "anon-123"  # it made the job (the wizard sets this)
    session.save()
    assert _status(anonymous, job) == 200


def test_entries_expire_and_the_oldest_go_first() -> None:
    cache = ViewerCache(ttl_s=0.05, size=2)
    cache.put("a", ALICE)
    assert cache.get("a") == ALICE
    time.sleep(0.06)
    assert cache.get("a") is None

    cache = ViewerCache(ttl_s=60, size=2)
    for key in ("a", "b"):
        cache.put(key, ALICE)
    cache.get("a")  # a is now the most recently used
    cache.put("c", ALICE)
    assert [cache.get(key) is not None for key in ("a", "b", "c")] == [True, False, True]
