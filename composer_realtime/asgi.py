"""ASGI entry point: `uvicorn composer_realtime.asgi:application` (or gunicorn, see README).

Django runs under the transport's handler (a few shared sync threads, middleware on the loop:
realtime/asgi/handler.py). With DEBUG on (the embedded defaults of scripts/run), /static/ is
served here too; in production a reverse proxy serves the collected files
(docs/deployment.md). Unchanged status polls may be answered in front of Django
(jobs/poll_shortcut.py), and so is /healthz (composer_realtime/liveness.py).

Importing this module makes the process a web server: its database round trips get their
deadlines and the breaker (composer_realtime/dbpool.py), which the worker's do not. It also
imports the URLconf and every view it names, which Django leaves to the first request: that
request would otherwise spend tens of milliseconds of the event loop importing (the first of a
reconnect storm, after a restart), and the process would grow by about 3.4 MB once it has
streams, where it should grow by what each stream keeps.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after setup
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from composer_realtime import dbpool  # noqa: E402
from composer_realtime.liveness import Liveness  # noqa: E402
from jobs.poll_shortcut import NotModifiedShortcut  # noqa: E402
from realtime.api import (  # noqa: E402
    SharedThreadsASGIHandler,
    count_responses,
    database_down,
)

dbpool.bound_web_requests(
    statement_timeout_s=settings.DATABASE_STATEMENT_TIMEOUT_S,
    tell_server=not settings.DATABASE_TRANSACTION_POOLING,
    count_outage=lambda reason: database_down(reason=reason),
)
get_resolver().reverse_dict  # noqa: B018 - imports the URLconf and its views, and indexes them
# /readyz answers within 2 s whatever hangs: its Django work never waits behind a request's.
django_application = SharedThreadsASGIHandler(
    threads=settings.REALTIME_SYNC_THREADS, own_thread=["/readyz"]
)
application = count_responses(
    Liveness(
        NotModifiedShortcut(
            ASGIStaticFilesHandler(django_application) if settings.DEBUG else django_application
        )
    )
)
