"""The client address: the peer, or X-Forwarded-For's entry from a trusted proxy only."""

import pytest
from django.test import RequestFactory

from realtime.address import address_in, client_address, pick_address


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.9"),  # no trusted proxy: the header is ignored
        (1, "", "10.0.0.9"),  # a trusted proxy that sent none
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the client wrote itself is ignored
        (2, "6.6.6.6, 198.51.100.1, 10.1.1.1", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.9"),  # fewer entries than proxies: the peer
        (1, "not-an-ip", "10.0.0.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_entry_the_nearest_trusted_proxy_appended(
    settings, hops, forwarded, expected
):
    settings.REALTIME_TRUSTED_PROXIES = hops
    assert pick_address(peer="10.0.0.9", forwarded=forwarded) == expected


def test_a_request_without_an_address_has_none(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="")
    assert client_address(request) == ""
    assert not address_in("", ["0.0.0.0/0"])


def test_networks_match_v4_and_v6():
    assert address_in("127.0.0.1", ["127.0.0.1/32", "::1/128"])
    assert address_in("::1", ["127.0.0.1/32", "::1/128"])
    assert not address_in("127.0.0.2", ["127.0.0.1/32"])
    assert address_in("10.3.4.5", ["10.0.0.0/8"])
