"""The transport's front door for the server's own code, which loads before Django.

gunicorn imports the worker class (and with it the HTTP protocol) in its arbiter, and uvicorn
imports a protocol before it loads the application: Django is not set up yet, so they cannot
import `realtime.api` (its ASGI handler needs Django's apps). What they use of the transport
comes from here, and nothing here may import Django (tests/test_import_graph.py holds it to
that).
"""

from realtime.asgi.types import CANCELS_ON_DISCONNECT
from realtime.flag import Flag

__all__ = ["CANCELS_ON_DISCONNECT", "Flag"]
