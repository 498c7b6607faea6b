"""The web process is ready for its first request when its application is built."""

import json
import os
import subprocess
import sys

from django.conf import settings

_PROBE = """
import json, sys
before = set(sys.modules)
import composer_realtime.asgi
from django.urls import get_resolver
print(json.dumps({
    "populated": get_resolver()._populated,
    "imported": sorted(set(sys.modules) - before),
}))
"""


def test_building_the_application_imports_the_urlconf_and_its_views() -> None:
    # In a process of its own: this one imported the URLconf long ago. The first stream's
    # request would otherwise import all of it (a 3.4 MB, tens-of-milliseconds step on the
    # event loop) while the streams of a reconnect storm wait.
    found = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "composer_realtime.settings"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(found.stdout.splitlines()[-1])
    assert probe["populated"] is True
    assert {"composer_realtime.urls", "jobs.views.stream", "dashboard.views", "api.views"} <= set(
        probe["imported"]
    )
