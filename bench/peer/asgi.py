"""Django's stock ASGI application for the peer (what its README deploys)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.settings")
application = get_asgi_application()
