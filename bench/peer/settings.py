"""Settings of the minimal peer project (django-eventstream's README, async views + Redis).

`django-admin startproject` defaults for apps and middleware, so that a stream costs what it
would in a real project (session and user lookups included); `DjangoModelStorage` so that
events persist and a reconnect resumes, as ours do. Everything comes from the environment the
benchmark sets (PEER_DATABASE_URL, PEER_REDIS_URL, SECRET_KEY, PEER_STORAGE).
"""

import os
from urllib.parse import parse_qsl, urlsplit


def _database(url: str) -> dict[str, object]:
    """Return Django's DATABASES entry for a postgres:// URL."""
    parts = urlsplit(url)
    options: dict[str, object] = dict(parse_qsl(parts.query))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "postgres",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "OPTIONS": options,
        "CONN_MAX_AGE": 0,
    }


def _redis(url: str) -> dict[str, object]:
    """Return EVENTSTREAM_REDIS (keyword arguments of redis.Redis) for a redis:// URL."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(parts.path.lstrip("/") or 0),
    }


SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_eventstream",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.peer.urls"
ASGI_APPLICATION = "bench.peer.asgi.application"
DATABASES = {"default": _database(os.environ["PEER_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
EVENTSTREAM_REDIS = _redis(os.environ["PEER_REDIS_URL"])
if os.environ.get("PEER_STORAGE", "db") == "db":
    EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
