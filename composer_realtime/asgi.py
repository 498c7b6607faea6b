"""ASGI entry point: `uvicorn composer_realtime.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after setup

from composer_realtime.handler import SharedThreadsASGIHandler  # noqa: E402

application = SharedThreadsASGIHandler(threads=settings.REALTIME_SYNC_THREADS)
