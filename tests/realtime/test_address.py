"""The client address: the peer, or X-Forwarded-For's entry from a trusted proxy only."""

import pytest
from django.test import RequestFactory

from realtime.address import address_in, client_address, pick_address

NGINX = ["10.0.0.9/32"]
TWO_TIERS = ["10.0.0.0/24", "2001:db8:ff::/48"]


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ([], "10.0.0.9", "198.51.100.1", "10.0.0.9"),  # no trusted proxy: the header is ignored
        (NGINX, "10.0.0.9", "", "10.0.0.9"),  # a trusted proxy that sent none
        (NGINX, "10.0.0.9", "198.51.100.1", "198.51.100.1"),
        (NGINX, "10.0.0.9", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own: ignored
        # Straight from a client that reached the application port: not believed.
        (NGINX, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        (TWO_TIERS, "10.0.0.9", "6.6.6.6, 198.51.100.1, 10.0.0.7", "198.51.100.1"),
        (TWO_TIERS, "10.0.0.9", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # every hop a proxy
        (NGINX, "10.0.0.9", "not-an-ip", "10.0.0.9"),
        (TWO_TIERS, "10.0.0.9", "not-an-ip, 10.0.0.7", "10.0.0.7"),
        (NGINX, "10.0.0.9", "2001:db8::1", "2001:db8::1"),
        (TWO_TIERS, "2001:db8:ff::2", "2001:db8::1", "2001:db8::1"),
        (NGINX, "not-an-ip", "198.51.100.1", ""),
    ],
)
def test_the_client_is_the_first_entry_from_the_right_that_is_no_trusted_proxy(
    settings, proxies, peer, forwarded, expected
):
    settings.REALTIME_TRUSTED_PROXIES = proxies
    assert pick_address(peer=peer, forwarded=forwarded) == expected


@pytest.mark.parametrize(
    ("listed", "error"),
    [
        (["1"], "realtime.E008"),
        (["0"], "realtime.E008"),
        (["127.0.0.1/32", "2"], "realtime.E008"),
        (["nginx"], "realtime.E009"),
        ([], None),
        (["127.0.0.1/32", "::1"], None),
    ],
)
def test_the_old_number_of_proxies_is_a_system_check_error(settings, listed, error):
    from realtime.checks import check_realtime_settings

    settings.REALTIME_TRUSTED_PROXIES = listed
    ids = {problem.id for problem in check_realtime_settings(None)}
    assert {i for i in ids if i in {"realtime.E008", "realtime.E009"}} == (
        {error} if error else set()
    )


def test_the_check_says_what_to_write_instead(settings):
    from realtime.checks import check_realtime_settings

    settings.REALTIME_TRUSTED_PROXIES = ["1"]
    (problem,) = [p for p in check_realtime_settings(None) if p.id == "realtime.E008"]
    assert "number of proxies" in problem.msg and "127.0.0.1/32" in (problem.hint or "")


def test_a_request_without_an_address_has_none(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="")
    assert client_address(request) == ""
    assert not address_in("", ["0.0.0.0/0"])


def test_networks_match_v4_and_v6():
    assert address_in("127.0.0.1", ["127.0.0.1/32", "::1/128"])
    assert address_in("::1", ["127.0.0.1/32", "::1/128"])
    assert not address_in("127.0.0.2", ["127.0.0.1/32"])
    assert address_in("10.3.4.5", ["10.0.0.0/8"])
