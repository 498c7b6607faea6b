"""Session keys of any other shape than Django's own are no session, never a 500."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from composer_realtime.sessions import SessionStore, is_valid_key
from jobs import services

pytestmark = pytest.mark.django_db

BAD_KEYS = [
    "a" * 31 + "\x00",
    "\x00" * 32,
    "A" * 32,
    "a" * 31,
    "a" * 33,
    "a" * 30 + "é1",
    "a" * 31 + "\ufffd",
    "../../etc/passwd" + "a" * 16,
    "a" * 31 + ";",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_malformed_session_key_is_no_session(key):
    assert not is_valid_key(key)
    store = SessionStore(session_key=key)
    assert store.session_key is None
    assert store.load() == {}


@pytest.mark.parametrize("key", [key for key in BAD_KEYS if key.isascii()])  # what HTTP carries
def test_every_page_answers_a_malformed_session_cookie_without_a_500(key, owner):
    job = services.job_create(owner=owner, params={"name": "Cookie Coin", "template": "token"})
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    statuses = [
        client.get(path).status_code
        for path in (
            "/",
            "/wizard/basics/",
            f"/jobs/{job.pk}/",
            f"/api/jobs/{job.pk}/status",
            "/dashboard/",
            "/admin/login/",
        )
    ]
    assert statuses == [302, 200, 404, 404, 302, 200]
    assert client.post("/wizard/basics/", {"name": "Cookie Coin"}).status_code == 302
    assert Session.objects.count() == 1, "the POST got a session of its own, with a new key"
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != key


def test_a_key_of_djangos_shape_still_works(client, owner):
    client.force_login(owner)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert is_valid_key(key)
    assert client.get("/wizard/basics/").context["user"] == owner
