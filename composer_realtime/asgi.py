"""ASGI entry point: `uvicorn composer_realtime.asgi:application` (or gunicorn, see README).

Django runs under the transport's handler (a few shared sync threads, middleware on the loop:
realtime/asgi/handler.py). With DEBUG on (the embedded defaults of scripts/run), /static/ is
served here too; in production a reverse proxy serves the collected files
(docs/deployment.md). Unchanged status polls may be answered in front of Django
(jobs/poll_shortcut.py).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after setup
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from jobs.poll_shortcut import NotModifiedShortcut  # noqa: E402
from realtime.api import SharedThreadsASGIHandler, count_responses  # noqa: E402

django_application = SharedThreadsASGIHandler(threads=settings.REALTIME_SYNC_THREADS)
application = count_responses(
    NotModifiedShortcut(
        ASGIStaticFilesHandler(django_application) if settings.DEBUG else django_application
    )
)
