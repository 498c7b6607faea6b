"""The client's address: the one function every per-address limit and allowlist asks.

Behind proxies, the connection's peer is the nearest proxy, and the client is in
X-Forwarded-For, which anyone can also write. So the header is read only when
REALTIME_TRUSTED_PROXIES says how many proxies in front append to it (nginx as documented:
`$proxy_add_x_forwarded_for`, one): the client is then that many entries from the right, the
entry the nearest trusted proxy wrote; whatever the client put further left is ignored. With
no trusted proxy, or a header with fewer entries than that, or an entry that is not an IP
address, the peer address counts.
"""

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = ""
"""The address of a request that has none (a Unix socket, a test client without one)."""


def client_address(request: HttpRequest) -> str:
    """Return the client address of a Django request."""
    return pick_address(
        peer=request.META.get("REMOTE_ADDR") or "",
        forwarded=request.META.get("HTTP_X_FORWARDED_FOR", ""),
    )


def pick_address(*, peer: str, forwarded: str) -> str:
    """Return the client among the peer and an X-Forwarded-For value, trusting the setting."""
    hops = settings.REALTIME_TRUSTED_PROXIES
    entries = [entry.strip() for entry in forwarded.split(",")] if forwarded else []
    if hops > 0 and len(entries) >= hops:
        chosen = _normal(entries[-hops])
        if chosen is not None:
            return chosen
    return _normal(peer) or UNKNOWN


def _normal(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def address_in(address: str, networks: Iterable[str]) -> bool:
    """Return True when `address` lies in one of `networks` (CIDRs or single addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)
