"""Settings for Composer Realtime.

Every value comes from the environment through django-environ; this is the only module that
reads it. `.env.example` lists the variables. Without any, the project runs on embedded
defaults: DEBUG on, SQLite in WAL mode under ./data, no Redis (the hub polls the database).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 - refused below

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
# What `check --deploy` (security.W009) calls strong enough: 50 characters, 5 distinct.
if not DEBUG and (
    SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters (5 or more "
        f"distinct) when DEBUG is off; it has {len(SECRET_KEY)}. Make one with: python3 -c "
        "'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "api.views.csrf_failure"  # JSON under /api/, Django's page elsewhere

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "axes",
    "realtime",
    "jobs",
    "dashboard",
    "api",
]

MIDDLEWARE = [
    "api.middleware.ApiErrorsMiddleware",  # first: it sees every error under /api/
    # A view that failed for want of a database: 503 + Retry-After (or a stream's `busy`).
    "composer_realtime.outage.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "api.middleware.BearerTokenMiddleware",  # after it: a token's user replaces the session's
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

# Admin login throttling (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username
# from one address lock that pair out for AXES_COOLOFF_HOURS. The address is the one every
# other limit uses (realtime.address), so it honours REALTIME_TRUSTED_PROXIES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "realtime.api.client_address"
AXES_VERBOSE = False  # no banner in every process at start

ROOT_URLCONF = "composer_realtime.urls"
ASGI_APPLICATION = "composer_realtime.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATA_DIR_DB = DATA_DIR / "composer.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR_DB}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids
    # "database is locked" upgrades from read to write transactions.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    _db.setdefault("TEST", {})["NAME"] = str(DATA_DIR / "test.sqlite3")
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a breaker before the pool: while the database does not answer, a
    # web request is refused at once instead of waiting (composer_realtime/dbhealth.py).
    _db["ENGINE"] = "composer_realtime.postgres"
    if env.str("TEST_DATABASE_NAME", default=""):  # parallel test runs on one server
        _db.setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME")
    # A bounded pool per process: streams hand their connection back before they wait.
    _db["CONN_MAX_AGE"] = 0
    _db["CONN_HEALTH_CHECKS"] = True  # the pool drops connections a Postgres restart broke
    from composer_realtime.dbpool import POOL_CALLBACKS  # a check only after 1 s idle

    _db.setdefault("OPTIONS", {}).update(
        {
            # Every connection, in every process: a connect that gets no answer gives up, and
            # a peer that vanished (its machine gone, a NAT that dropped the flow) is noticed
            # by the kernel: within 25 s on an idle connection (keepalive), within 10 s when
            # sent data goes unacknowledged (a statement the server never got).
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT_S", default=3),
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 10_000,
            "pool": {
                "min_size": 1,
                "max_size": env.int("DATABASE_POOL_SIZE", default=10),
                # How long a request waits for a pooled connection before it is answered 503.
                "timeout": env.float("DATABASE_POOL_TIMEOUT_S", default=3.0),
                # How long the pool keeps trying to add a connection (backing off from 1 s,
                # doubling) before it gives up; the next request that needs one starts again
                # at once. The default (5 min) let the backoff grow to 30 s and more during a
                # long outage, so the site came back that long after the database did.
                "reconnect_timeout": 5.0,
                **POOL_CALLBACKS,
            },
        }
    )
# Web processes only (composer_realtime/asgi.py): the server ends a statement of a web request
# after this many seconds, and the process gives up on a round trip that got no answer one
# second later (a silent path); the worker's and the commands' statements are not bounded.
DATABASE_STATEMENT_TIMEOUT_S = env.float("DATABASE_STATEMENT_TIMEOUT_S", default=5.0)
# PostgreSQL reached through a pooler in transaction mode (PgBouncer): each transaction may run
# on another server connection, so nothing may outlive one: no server-side cursors (Django's
# `.iterator()` would declare one), and no prepared statements unless the pooler keeps track
# of them (PgBouncer >= 1.21 with max_prepared_statements > 0: then say so below).
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
if DATABASE_TRANSACTION_POOLING:
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
# Hot statements prepared once per connection (jobs/prepared.py).
DATABASE_PREPARED_STATEMENTS = env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=not DATABASE_TRANSACTION_POOLING
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

REDIS_URL = env.str("REDIS_URL", default="")

# Database sessions that refuse malformed keys before any query (composer_realtime/sessions.py).
SESSION_ENGINE = "composer_realtime.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# --- Security: transport, cookies, Content-Security-Policy ---------------------------------
# No inline script or style anywhere: each page's one script is a file configured from data-*
# on its own <script nonce> tag; the nonce is there for whatever inline script may come later.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a TLS-terminating proxy: the header it sets and its value for HTTPS, comma-separated,
# e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (only if the proxy always sets it).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER takes a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1])
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers call the processes directly over plain HTTP, not through the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is the domain owner's one-way decision, not a
        # default: say SECURE_HSTS_PRELOAD=true once the domain is submitted.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("MEDIA_ROOT", default=str(DATA_DIR / "media"))},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # "django" would keep Django's own console handler and also propagate to root: every line
    # of django.* (the worker's task state lines among them) was printed twice.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"level": "ERROR"},
    },
}

# --- Real-time transport knobs -------------------------------------------------------------
REALTIME_MAX_STREAMS_PER_CLIENT = env.int("REALTIME_MAX_STREAMS_PER_CLIENT", default=20)
REALTIME_MAX_STREAMS_PER_PROCESS = env.int("REALTIME_MAX_STREAMS_PER_PROCESS", default=20000)
REALTIME_POLL_RATE = env.int("REALTIME_POLL_RATE", default=300)
# Unchanged polls of a job Django answered within this many seconds may be answered 304 in
# front of Django (jobs/poll_shortcut.py); 0 turns that off.
REALTIME_POLL_SHORTCUT_S = env.float("REALTIME_POLL_SHORTCUT_S", default=10.0)
REALTIME_HEARTBEAT_S = env.float("REALTIME_HEARTBEAT_S", default=15.0)
REALTIME_MAX_STREAM_AGE_S = env.float("REALTIME_MAX_STREAM_AGE_S", default=600.0)
REALTIME_QUEUE_SIZE = env.int("REALTIME_QUEUE_SIZE", default=64)
REALTIME_RETRY_MS = env.int("REALTIME_RETRY_MS", default=2000)
REALTIME_DRAIN_SPREAD_S = env.float("REALTIME_DRAIN_SPREAD_S", default=10.0)
REALTIME_DB_POLL_S = env.float("REALTIME_DB_POLL_S", default=0.25)
# The hub's pub/sub link pings Redis every _CHECK_S seconds and counts itself down (the hub then
# reads the database, and the link reconnects) when a ping heard nothing back within _TIMEOUT_S:
# a silent path is noticed within their sum (realtime/broker/liveness.py).
REALTIME_REDIS_HEALTH_CHECK_S = env.float("REALTIME_REDIS_HEALTH_CHECK_S", default=1.0)
REALTIME_REDIS_HEALTH_TIMEOUT_S = env.float("REALTIME_REDIS_HEALTH_TIMEOUT_S", default=2.0)
REALTIME_SYNC_THREADS = env.int("REALTIME_SYNC_THREADS", default=4)
REALTIME_SEND_TIMEOUT_S = env.float("REALTIME_SEND_TIMEOUT_S", default=30.0)
REALTIME_DB_DOORBELL_SOURCE = "jobs.selectors.hub_messages_after"

# --- Abuse limits (docs/reliability.md, "Limits") -----------------------------------------
# The proxies in front (addresses or CIDRs, e.g. nginx's 127.0.0.1/32) whose X-Forwarded-For
# is believed; empty = none: the client address is the connection's peer. (It used to be a
# number of proxies; a number is refused by the system check realtime.E008.)
REALTIME_TRUSTED_PROXIES = [
    proxy.strip() for proxy in env.list("REALTIME_TRUSTED_PROXIES", default=[]) if proxy.strip()
]
# Concurrent streams per client address (many people may share one); 0 = no cap.
REALTIME_MAX_STREAMS_PER_ADDRESS = env.int("REALTIME_MAX_STREAMS_PER_ADDRESS", default=200)
# Request bodies larger than this are refused with 413 before they are read.
REALTIME_MAX_BODY_BYTES = env.int("REALTIME_MAX_BODY_BYTES", default=1024 * 1024)
# Seconds a request body may take to arrive (408 beyond): a slow body holds a task meanwhile.
REALTIME_BODY_TIMEOUT_S = env.float("REALTIME_BODY_TIMEOUT_S", default=30.0)
# /metrics and /readyz: addresses allowed (CIDRs), or a bearer token (empty: no token).
REALTIME_OPS_ALLOW = env.list("REALTIME_OPS_ALLOW", default=["127.0.0.1/32", "::1/128"])
REALTIME_OPS_TOKEN = env.str("REALTIME_OPS_TOKEN", default="")

# --- Jobs -----------------------------------------------------------------------------------
# Opt-in demo pace: a step that took less is stretched to this many seconds (0: no sleeps).
JOBS_STEP_PACE_S = env.float("JOBS_STEP_PACE_S", default=0.0)
# The compiler and EVM (toolchain/: its package-lock.json pins them; `npm ci` installs them).
JOBS_TOOLCHAIN_DIR = env.str("JOBS_TOOLCHAIN_DIR", default=str(BASE_DIR / "toolchain"))
JOBS_NODE = env.str("JOBS_NODE", default="node")
# Content-addressed compiler outputs and measured step durations, kept across runs.
JOBS_BUILD_CACHE_DIR = env.str("JOBS_BUILD_CACHE_DIR", default=str(DATA_DIR / "build-cache"))
# The compile cache's bounds: entries unused for longer go, then the least recently used until
# it fits (trimmed by purge_old, and by a worker at most every few minutes as it stores).
JOBS_BUILD_CACHE_MAX_MB = env.int("JOBS_BUILD_CACHE_MAX_MB", default=512)
JOBS_BUILD_CACHE_MAX_AGE_DAYS = env.float("JOBS_BUILD_CACHE_MAX_AGE_DAYS", default=30.0)
JOBS_STEP_TIMEOUT_S = env.float("JOBS_STEP_TIMEOUT_S", default=120.0)
JOBS_TOOLCHAIN_MAX_RSS_MB = env.int("JOBS_TOOLCHAIN_MAX_RSS_MB", default=1024)
JOBS_HEARTBEAT_S = env.float("JOBS_HEARTBEAT_S", default=5.0)
# The task worker's CPU niceness (0-19; its Node.js compiler inherits it): on a machine it
# shares with the web processes, generation yields the cores to them. 0 leaves it unchanged.
JOBS_WORKER_NICE = env.int("JOBS_WORKER_NICE", default=10)
# The Node.js compiler (the worker's child that compiles, deploys and smoke-tests) runs under
# Linux's SCHED_IDLE policy: it takes a core only when nothing else wants it, where nice 10
# still gave it a share whenever a web task ran. The worker itself stays at JOBS_WORKER_NICE,
# so that its heartbeat is never starved. False: the compiler runs at the worker's niceness.
JOBS_COMPILER_IDLE = env.bool("JOBS_COMPILER_IDLE", default=True)
JOBS_STALE_AFTER_S = env.float("JOBS_STALE_AFTER_S", default=30.0)
# Admission: unfinished jobs per owner (user or anonymous session), and jobs created per
# minute per owner and per client address; 0 = no limit.
JOBS_MAX_UNFINISHED_PER_OWNER = env.int("JOBS_MAX_UNFINISHED_PER_OWNER", default=3)
JOBS_CREATE_RATE_PER_OWNER = env.int("JOBS_CREATE_RATE_PER_OWNER", default=10)
JOBS_CREATE_RATE_PER_ADDRESS = env.int("JOBS_CREATE_RATE_PER_ADDRESS", default=60)
# Unfinished jobs of anonymous visitors per client address, across their sessions (fresh
# sessions are free; the address is not); 0 = no cap.
JOBS_MAX_UNFINISHED_PER_ADDRESS = env.int("JOBS_MAX_UNFINISHED_PER_ADDRESS", default=10)
# New anonymous visitors (sessions) per minute per client address; 0 = no limit.
JOBS_NEW_VISITORS_PER_ADDRESS = env.int("JOBS_NEW_VISITORS_PER_ADDRESS", default=30)
# Journey records per minute per client address; beyond, they are not recorded (the person
# is not refused: only the dashboard's counts of an abuser are lost); 0 = no limit.
JOBS_JOURNEY_RATE_PER_ADDRESS = env.int("JOBS_JOURNEY_RATE_PER_ADDRESS", default=120)
# A wizard draft's stored values, serialized, at most (bytes).
JOBS_DRAFT_MAX_BYTES = env.int("JOBS_DRAFT_MAX_BYTES", default=16 * 1024)
