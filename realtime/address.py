"""The client's address: the one function every per-address limit and allowlist asks.

Behind proxies, the connection's peer is the nearest proxy, and the client is in
X-Forwarded-For, which anyone can also write. So the header is believed only from a peer listed
in REALTIME_TRUSTED_PROXIES (addresses or CIDRs: the proxies in front, nginx as documented).
From such a peer the entries are read from the right, each one appended by the proxy to its
right: entries that are themselves listed proxies are passed over, and the first that is not
is the client; whatever the client put further left is ignored. A request straight from an
unlisted peer (a client that reached the application port) is that peer, whatever header it
sends. An entry that is not an IP address ends the walk at the last address believed.
"""

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = ""
"""The address of a request that has none (a Unix socket, a test client without one)."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(request: HttpRequest) -> str:
    """Return the client address of a Django request."""
    return pick_address(
        peer=request.META.get("REMOTE_ADDR") or "",
        forwarded=request.META.get("HTTP_X_FORWARDED_FOR", ""),
    )


def pick_address(*, peer: str, forwarded: str) -> str:
    """Return the client among the peer and an X-Forwarded-For value, trusting the setting."""
    believed = _ip(peer)
    if believed is None:
        return UNKNOWN
    proxies = networks(tuple(settings.REALTIME_TRUSTED_PROXIES))
    entries = forwarded.split(",") if forwarded else []
    while _within(believed, proxies) and entries:
        entry = _ip(entries.pop().strip())
        if entry is None:
            break
        believed = entry
    return str(believed)


@functools.lru_cache(maxsize=8)
def networks(listed: Sequence[str]) -> tuple[Network, ...]:
    """Return the networks of a list of CIDRs or addresses, leaving out what is neither (the
    system check `realtime.E008` names it)."""
    parsed = []
    for text in listed:
        try:
            parsed.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            continue
    return tuple(parsed)


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(ip: Address, among: Iterable[Network]) -> bool:
    return any(ip in network for network in among)


def address_in(address: str, listed: Iterable[str]) -> bool:
    """Return True when `address` lies in one of `listed` (CIDRs or single addresses)."""
    ip = _ip(address)
    return ip is not None and _within(ip, networks(tuple(listed)))
