"""ASGI entry point: `uvicorn composer_realtime.asgi:application` (or gunicorn, see README).

With DEBUG on (the embedded defaults of scripts/run), /static/ is served here too; in
production a reverse proxy serves the collected files (docs/deployment.md). Unchanged status
polls may be answered in front of Django (jobs/views/not_modified.py).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after setup
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from composer_realtime.handler import SharedThreadsASGIHandler  # noqa: E402
from jobs.views.not_modified import NotModifiedShortcut  # noqa: E402

django_application = SharedThreadsASGIHandler(threads=settings.REALTIME_SYNC_THREADS)
# Unchanged status polls are answered in front of Django when the answer is known.
application = NotModifiedShortcut(ASGIStaticFilesHandler(django_application) if settings.DEBUG
                                  else django_application)
