"""Where a fault proxy sits: on one path of a real web server, named as in the fault table.

- `client-server`: between the clients and the server (the base URL is the proxy's);
- `app-redis`: between the server and Redis (its REDIS_URL goes through the proxy);
- `app-postgres`: between the server and PostgreSQL (its DATABASE_URL does).

Whatever records the events (a worker, or the test itself) reaches Redis and PostgreSQL
directly: only the web server's path meets the fault.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from tests.support.faultproxy import FaultProxy
from tests.support.servers import WebServer

Placement = Literal["client-server", "app-redis", "app-postgres"]
PLACEMENTS: tuple[Placement, ...] = ("client-server", "app-redis", "app-postgres")


@dataclass
class Placed:
    web: WebServer
    proxy: FaultProxy
    base_url: str
    """Where clients connect."""


def through(url: str, proxy: FaultProxy) -> str:
    """Return `url` with its host and port replaced by the proxy's."""
    return urlunsplit(urlsplit(url)._replace(netloc=proxy.url_host_port))


def serve_behind(
    placement: Placement,
    *,
    start_web: Callable[..., WebServer],
    redis_url: str,
    database_url: str,
    lifetime_s: float,
    **env: str,
) -> Placed:
    """Start a web server (with `env`) whose `placement` path goes through a new fault proxy;
    the caller stops the proxy."""

    def proxy_to(port: int) -> FaultProxy:
        return FaultProxy(port, seed=23, lifetime_s=lifetime_s).start()

    if placement == "client-server":
        web = start_web(**env)
        proxy = proxy_to(web.port)
        return Placed(web, proxy, f"http://{proxy.url_host_port}")
    if placement == "app-redis":
        proxy = proxy_to(urlsplit(redis_url).port or 6379)
        web = start_web(REDIS_URL=through(redis_url, proxy), **env)
        return Placed(web, proxy, web.url)
    proxy = proxy_to(urlsplit(database_url).port or 5432)
    web = start_web(DATABASE_URL=through(database_url, proxy), **env)
    return Placed(web, proxy, web.url)
