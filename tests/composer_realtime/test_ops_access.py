"""/metrics and /readyz answer only an allowed address or the bearer token; /healthz anyone."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OUTSIDER = "203.0.113.9"


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
def test_ops_endpoints_refuse_an_outside_address_with_403(path):
    response = Client(REMOTE_ADDR=OUTSIDER).get(path)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert Client().get(path).status_code == 200, "loopback is allowed by default"


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
def test_the_bearer_token_opens_them_from_anywhere_and_a_wrong_one_does_not(path, settings):
    settings.REALTIME_OPS_TOKEN = "s3cret-scrape-token"
    outsider = Client(REMOTE_ADDR=OUTSIDER)
    assert (
        outsider.get(path, headers={"Authorization": "Bearer s3cret-scrape-token"}).status_code
        == 200
    )
    assert outsider.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert outsider.get(path).status_code == 403


def test_the_allowlist_takes_networks_and_a_forged_forwarded_for_is_ignored(settings):
    settings.REALTIME_OPS_ALLOW = ["10.0.0.0/8"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 403, "loopback no longer listed"
    forged = Client(REMOTE_ADDR=OUTSIDER).get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert forged.status_code == 403


def test_healthz_stays_open_and_says_nothing_more():
    response = Client(REMOTE_ADDR=OUTSIDER).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_malformed_allowlist_is_a_system_check_error(settings):
    from realtime.checks import check_realtime_settings

    settings.REALTIME_OPS_ALLOW = ["not-a-network"]
    assert "realtime.E005" in [problem.id for problem in check_realtime_settings(None)]
