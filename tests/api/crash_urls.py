"""The project's URLs plus one API view that crashes, to see what a 500 under /api/ looks like."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from composer_realtime.urls import urlpatterns as project


class Crash(Exception):
    """What the crashing view raises."""


def crash(request: HttpRequest) -> HttpResponse:
    """Fail the way a bug would."""
    raise Crash("a bug")


urlpatterns = [path("api/crash", crash), *project]
