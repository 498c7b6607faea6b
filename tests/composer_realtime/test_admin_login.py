"""Admin login is throttled by django-axes: wrong passwords lock the username and address out."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def attempt(client: Client, password: str) -> int:
    return int(
        client.post(
            LOGIN, {"username": "staff", "password": password, "next": "/admin/"}
        ).status_code
    )


def test_wrong_passwords_lock_the_admin_login_out_even_for_the_right_one(staff_user, settings):
    client = Client(REMOTE_ADDR="198.51.100.20")
    wrong = [attempt(client, f"guess-{i}") for i in range(settings.AXES_FAILURE_LIMIT)]
    assert wrong[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form, with its error
    assert wrong[-1] == 429
    assert attempt(client, "pw-staff-123") == 429, "locked out: the right password waits too"
    assert Client(REMOTE_ADDR="198.51.100.20").get("/admin/").status_code == 302


def test_the_lockout_is_per_username_and_address(staff_user, settings):
    attacker = Client(REMOTE_ADDR="198.51.100.21")
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(attacker, f"guess-{i}")
    colleague = Client(REMOTE_ADDR="198.51.100.22")
    assert attempt(colleague, "pw-staff-123") == 302, "same user, another address: logs in"


def test_a_success_before_the_limit_resets_the_count(staff_user, settings):
    client = Client(REMOTE_ADDR="198.51.100.23")
    for _ in range(2):
        for i in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attempt(client, f"guess-{i}") == 200
        assert attempt(client, "pw-staff-123") == 302
        client.logout()


@pytest.mark.django_db(transaction=True)
def test_the_lockout_holds_under_the_asgi_server(start_web, staff_user):
    """The same through uvicorn and the project's ASGI handler (axes' async middleware path)."""
    import re

    import httpx

    web = start_web(AXES_FAILURE_LIMIT="3")
    with httpx.Client(base_url=web.url, timeout=20) as client:
        form = client.get(LOGIN).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token

        def post(password: str) -> int:
            return client.post(
                LOGIN,
                data={
                    "username": "staff",
                    "password": password,
                    "csrfmiddlewaretoken": token.group(1),
                    "next": "/admin/",
                },
            ).status_code

        statuses = [post(f"guess-{i}") for i in range(3)]
        assert statuses == [200, 200, 429]
        assert post("pw-staff-123") == 429
