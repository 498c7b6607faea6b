"""The transport's Django app (realtime/apps.py): ready() wires its checks and presence."""

import weakref

from django.core import checks
from django.core.signals import request_started

from realtime import presence
from realtime.checks import check_realtime_settings


def test_the_settings_checks_are_registered():
    assert check_realtime_settings in checks.registry.registry.get_checks()


def test_web_processes_start_sharing_their_figures_on_their_first_request():
    receivers = [entry[1] for entry in request_started.receivers]
    live = [r() if isinstance(r, weakref.ReferenceType) else r for r in receivers]
    assert presence._start_on_first_asgi_request in live
