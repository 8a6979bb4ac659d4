"""Settings for etlsite, read from the environment (and an optional .env file).

Every knob is documented in .env.example. Defaults are for a laptop: SQLite,
DEBUG on, a dev SECRET_KEY. Production sets DEBUG=false, which makes
SECRET_KEY mandatory and turns on secure cookies.
"""

import os
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from etlsite import __version__

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# A working folder for the SQLite database, sample data and file outputs.
ETL_HOME = Path(env.str("ETL_HOME", default=str(BASE_DIR / "var")))

_DEV_SECRET_KEY = "dev-only-insecure-key-change-me-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    warnings.warn("SECRET_KEY is not set: using an insecure development key.", stacklevel=1)
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_q",
    "oauth2_provider",
    "rest_framework_api_key",
    "rest_framework_simplejwt.token_blacklist",
    "etlsite",
    "accounts",
    "jobs",
    "contexts",
    "schemas",
    "authoring",
    "execution",
    "monitoring",
]

MIDDLEWARE = [
    "etlsite.request_id.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "monitoring.request_metrics.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "etlsite.caching.ApiCacheControlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.LoginFormThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it calls an API view that may write itself, in one transaction.
    "etlsite.atomic_writes.AtomicWritesMiddleware",
]

ROOT_URLCONF = "etlsite.urls"
# Seed routes have no trailing slash; redirects would drop POST bodies.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "etlsite.wsgi.application"

# --- Database -----------------------------------------------------------------

ETL_HOME.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{ETL_HOME / 'etlsite.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and a worker write at once: WAL lets readers run during a
    # write, IMMEDIATE takes the write lock up front (no upgrade deadlocks),
    # and the busy timeout waits for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so worker processes started by tests can open it;
    # named per test run so parallel runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(ETL_HOME / f"test-etlsite-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Parameters bound by the server, and a query run five times on a
    # connection prepared there: planned once per connection instead of per
    # request (the polled reads' validators spent more time in planning than
    # in execution). Django turns this off by default for connection poolers
    # in transaction mode (PgBouncer before 1.21, or without
    # max_prepared_statements): set DATABASE_PREPARED_STATEMENTS=false behind one.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    options.setdefault("prepare_threshold", 5)
# Keep connections across requests: opening one per request (and, on SQLite,
# re-running the PRAGMAs) cost a third of a gunicorn worker's CPU under load.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------

# The database cache is shared by every process (web and workers), which
# throttling and health caching need; no extra service required.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://etlsite_cache")}

# --- Auth -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"

# --- I18N / static ------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ETL_HOME / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Tests and `make run` serve static files straight from the apps (no collectstatic).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- REST API -----------------------------------------------------------------

API_PAGE_SIZE_MAX = 500
# Proxies (load balancers) in front of the web servers, each appending to
# X-Forwarded-For. 0: the header is ignored and throttles and audit use the
# connection's address; a client could otherwise claim any address it likes.
ETL_TRUSTED_PROXIES = env.int("ETL_TRUSTED_PROXIES", default=0)
# JSON request bodies nested deeper than this (arrays and objects) are a 400
# before anything parses them: deep nesting costs recursion everywhere later.
ETL_JSON_MAX_DEPTH = env.int("ETL_JSON_MAX_DEPTH", default=64)
REST_FRAMEWORK = {
    # Order matters: OAuth2 declines tokens it does not know (so JWT gets a
    # look at a Bearer header), JWT refuses what it cannot decode.
    "DEFAULT_AUTHENTICATION_CLASSES": env.list(
        "API_AUTHENTICATION_CLASSES",
        default=[
            "rest_framework.authentication.TokenAuthentication",
            "accounts.authentication.ApiKeyAuthentication",
            "accounts.authentication.OAuth2Authentication",
            "rest_framework_simplejwt.authentication.JWTAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
    ),
    "DEFAULT_PERMISSION_CLASSES": ["etlsite.permissions.ApiPermission"],
    "DEFAULT_PAGINATION_CLASS": "etlsite.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "etlsite.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.AnonThrottle",
        "accounts.throttling.UserThrottle",
        "accounts.throttling.ApiKeyThrottle",
    ],
    "EXCEPTION_HANDLER": "etlsite.errors.api_exception_handler",
    # JSON that no database can store (NUL, unpaired surrogates) is a 400.
    "DEFAULT_PARSER_CLASSES": [
        "etlsite.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "etlsite.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": ETL_TRUSTED_PROXIES,
}

# Requests per period ("N/second|minute|hour|day"), read on every request.
ETL_THROTTLE_RATES = {
    "anon": env.str("THROTTLE_ANON", default="120/minute"),
    "user": env.str("THROTTLE_USER", default="1200/minute"),
    "api_key": env.str("THROTTLE_API_KEY", default="1200/minute"),
    "login": env.str("THROTTLE_LOGIN", default="10/minute"),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}

OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read jobs, contexts, schemas, executions and metrics",
        "write": "Create, change and delete definitions",
        "execute": "Start, stop, pause, resume and restart executions",
        "admin": "Everything your account may do, including setup and audit",
    },
    "DEFAULT_SCOPES": ["read"],
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_ACCESS_TOKEN_SECONDS", default=3600),
}

# CORS stays off: no cross-origin browser access unless a proxy adds it.

# Content-Security-Policy on every response (django-csp): pages load only
# this site's own files, and inline script or style runs only with the
# request's nonce (templates use `{{ request.csp_nonce }}`). docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "etlsite API",
    "DESCRIPTION": "ETL control plane: jobs, contexts, schemas, executions, monitoring.",
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    # Swagger UI would show a badge image from validator.swagger.io: nothing loads from outside.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {"CredentialKindEnum": "contexts.models.Credential.Kind"},
}

# --- ETL ----------------------------------------------------------------------

# File sources and sinks may only touch paths under these folders.
ETL_DATA_ROOTS = [
    str(Path(p).resolve()) for p in env.list("ETL_DATA_ROOTS", default=[str(ETL_HOME / "data")])
]
ETL_DEFAULT_BATCH_SIZE = env.int("ETL_DEFAULT_BATCH_SIZE", default=50_000)
# Where a run's aggregate, sort or metric writes what it holds past
# ETL_SPILL_BYTES (a folder per operator, removed when it ends, and by the
# reaper after a killed run: a folder on this host's disk, not a data root).
ETL_SPILL_DIR = str(Path(env.str("ETL_SPILL_DIR", default=str(ETL_HOME / "spill"))).resolve())
ETL_SPILL_BYTES = env.int("ETL_SPILL_BYTES", default=16 << 20)
# Largest request body (JSON records or an uploaded file) the API reads for
# validation, inference and import; bigger requests get a 413 before any read.
ETL_UPLOAD_MAX_BYTES = env.int("ETL_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
# Django's own cap on a body read into memory (JSON): the same limit, not its 2.5 MB default.
DATA_UPLOAD_MAX_MEMORY_SIZE = ETL_UPLOAD_MAX_BYTES
# Synchronous validation and inference (schemas/limits.py): columns of the
# data (and fields of a schema), values checked (rows x columns) and seconds
# per request; each a 413. Bigger data is validated by a job (docs/schemas.md).
ETL_VALIDATE_MAX_COLUMNS = env.int("ETL_VALIDATE_MAX_COLUMNS", default=1000)
ETL_VALIDATE_MAX_VALUES = env.int("ETL_VALIDATE_MAX_VALUES", default=10_000_000)
ETL_VALIDATE_TIME_LIMIT_SECONDS = env.float("ETL_VALIDATE_TIME_LIMIT_SECONDS", default=10.0)
# Previews of a component (POST /jobs/{id}/preview): rows per source at most, and
# seconds (checked between batches, and the statement timeout of database reads).
ETL_PREVIEW_MAX_ROWS = env.int("ETL_PREVIEW_MAX_ROWS", default=1000)
ETL_PREVIEW_TIME_LIMIT_SECONDS = env.float("ETL_PREVIEW_TIME_LIMIT_SECONDS", default=10.0)
# Comma-separated Fernet keys, newest first (MultiFernet rotation).
ETL_CREDENTIALS_KEY = env.str("ETL_CREDENTIALS_KEY", default="")

# --- Background workers (django-q2, ORM broker) ---------------------------------

# The longest a job may run; django-q2 must never retry a task on its own, so
# its `retry` is larger than any timeout and each task gets one attempt.
ETL_MAX_TIMEOUT_SECONDS = env.int("ETL_MAX_TIMEOUT_SECONDS", default=6 * 3600)
# A running execution whose heartbeat is older than this (on another machine)
# is declared dead by the reaper.
ETL_HEARTBEAT_STALE_SECONDS = env.int("ETL_HEARTBEAT_STALE_SECONDS", default=60)
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="etlsite"),
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": ETL_MAX_TIMEOUT_SECONDS,
    "retry": ETL_MAX_TIMEOUT_SECONDS + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "poll": env.float("Q_POLL_SECONDS", default=0.1),
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}

# --- Notifications (docs/monitoring.md#notifications) ------------------------------

# Email goes through Django's email backend; SMTP by default (docs/operations.md).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(ETL_HOME / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="etlsite@localhost")
# Hosts webhooks may be sent to (`hooks.example.com`, `.example.com` for a domain); empty: any.
ETL_WEBHOOK_ALLOWED_HOSTS = env.list("ETL_WEBHOOK_ALLOWED_HOSTS", default=[])
# Seconds one webhook attempt may wait on the endpoint.
ETL_NOTIFY_TIMEOUT_SECONDS = env.float("ETL_NOTIFY_TIMEOUT_SECONDS", default=5.0)
# Attempts per notification, and the first retry's delay (each next one waits 4x longer).
ETL_NOTIFY_MAX_ATTEMPTS = env.int("ETL_NOTIFY_MAX_ATTEMPTS", default=5)
ETL_NOTIFY_RETRY_SECONDS = env.float("ETL_NOTIFY_RETRY_SECONDS", default=30.0)

# --- Production hardening -----------------------------------------------------

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_CONTENT_TYPE_NOSNIFF = True
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "etlsite.request_id.RequestIDLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
