"""Debian's chromium through Playwright, for the wizard's browser test (never downloads one)."""

import mimetypes
from pathlib import Path
from urllib.parse import urlparse

from django.contrib.staticfiles import finders
from playwright.sync_api import Browser, Playwright, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATIC_PREFIX = "/static/"


def launch_chromium(playwright: Playwright) -> Browser:
    """Start headless chromium from /usr/bin; say how to install it if it is missing."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"the browser tests need {CHROMIUM}: apt-get install -y chromium")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
    )


def serve_static(route: Route) -> None:
    """Answer a /static/ request as collectstatic would (uvicorn serves no static files).

    The staticfiles finders look in static/ and in every app's static/ folder (realtime/).
    """
    relative = urlparse(route.request.url).path.removeprefix(STATIC_PREFIX)
    found = finders.find(relative) if ".." not in relative.split("/") else None
    if not isinstance(found, str) or not Path(found).is_file():
        route.fulfill(status=404)
        return
    path = Path(found)
    route.fulfill(
        path=str(path),
        content_type=mimetypes.guess_type(path.name)[0],
        headers={"Cache-Control": "no-store"},
    )
