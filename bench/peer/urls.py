"""One stream per channel: `/events/<channel>/` (django-eventstream's README, path component)."""

import django_eventstream
from django.urls import include, path

urlpatterns = [
    path("events/<channel>/", include(django_eventstream.urls)),
]
