"""What this installation is and can do: /info, /info/version, /info/features, /info/capabilities."""

import platform
import sqlite3
import sys

import django
from django.conf import settings
from django.db import connection

from etlsite import __version__
from etlsite.configuration import get_definition, get_setting
from execution.engine.registry import all_specs

# Authentication classes by the name clients know them under.
_AUTH_METHOD_NAMES = (
    ("apikey", "api_key"),
    ("api_key", "api_key"),
    ("jwt", "jwt"),
    ("oauth", "oauth2"),
    ("token", "token"),
    ("session", "session"),
    ("basic", "basic"),
)


def version_info() -> dict:
    return {
        "name": "etlsite",
        "version": __version__,
        "api_version": "v1",
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def database_info() -> dict:
    return {
        "vendor": connection.vendor,
        "engine": settings.DATABASES["default"]["ENGINE"],
        "server_version": _database_server_version(),
    }


def _database_server_version() -> str | None:
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version
    connection.ensure_connection()
    server_version = getattr(connection.connection, "info", None)
    if server_version is not None and hasattr(server_version, "server_version"):  # psycopg 3
        number = server_version.server_version
        return f"{number // 10000}.{number % 10000}"
    return getattr(connection.connection, "get_server_info", lambda: None)()


def system_info() -> dict:
    return {
        **version_info(),
        "environment": "development" if settings.DEBUG else "production",
        "debug": settings.DEBUG,
        "time_zone": settings.TIME_ZONE,
        "database": database_info(),
        "broker": {
            "kind": "django-q2",
            "transport": f"orm ({settings.Q_CLUSTER['orm']})",
            "cluster_name": settings.Q_CLUSTER["name"],
            "workers_per_cluster": settings.Q_CLUSTER["workers"],
        },
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        "platform": f"{platform.system()} {platform.release()}",
        "python_implementation": sys.implementation.name,
        "maintenance_mode": get_setting("maintenance_mode"),
    }


def auth_methods() -> list[str]:
    methods = []
    for path in settings.REST_FRAMEWORK.get("DEFAULT_AUTHENTICATION_CLASSES", []):
        class_name = path.rsplit(".", 1)[-1].lower()
        name = next((label for marker, label in _AUTH_METHOD_NAMES if marker in class_name), class_name)
        if name not in methods:
            methods.append(name)
    return methods


def features() -> dict:
    """Each feature with whether it is enabled here and why."""
    apps = set(settings.INSTALLED_APPS)
    auth = auth_methods()
    flags = {
        "token_auth": ("token" in auth, "DRF tokens: Authorization: Token <key>."),
        "session_auth": ("session" in auth, "Browser sessions (web UI, browsable API)."),
        "jwt_auth": ("jwt" in auth, "JSON Web Tokens from /api/v1/auth/jwt/."),
        "api_key_auth": ("api_key" in auth, "Scoped API keys: Authorization: Api-Key <key>."),
        "oauth2": ("oauth2_provider" in apps, "OAuth2 provider at /o/."),
        "background_workers": ("django_q" in apps, "Jobs run in django-q2 workers (manage.py qcluster)."),
        "credential_encryption": (
            bool(settings.ETL_CREDENTIALS_KEY),
            "Credential secrets encrypted at rest (ETL_CREDENTIALS_KEY is set).",
        ),
        "prometheus": (True, "Prometheus exposition at /metrics."),
        "custom_metrics": (True, "Named series pushed to /api/v1/metrics/custom or recorded by jobs."),
        "request_metrics": (
            "monitoring.request_metrics.RequestMetricsMiddleware" in settings.MIDDLEWARE,
            "API request rate, latency and errors per route.",
        ),
        "conditional_get": (
            "django.middleware.http.ConditionalGetMiddleware" in settings.MIDDLEWARE,
            "ETag / If-None-Match on read endpoints.",
        ),
        "maintenance_mode": (get_setting("maintenance_mode"), "Set in /api/v1/setup/configuration."),
    }
    return {name: {"enabled": bool(enabled), "description": text} for name, (enabled, text) in flags.items()}


def capabilities() -> dict:

    specs = all_specs()
    by_kind: dict[str, list[str]] = {}
    for spec in specs:
        by_kind.setdefault(spec.kind, []).append(spec.type)
    return {
        "component_types": [
            {"type": spec.type, "kind": spec.kind, "summary": spec.summary} for spec in specs
        ],
        "source_kinds": by_kind.get("source", []),
        "transform_kinds": by_kind.get("transform", []),
        "sink_kinds": by_kind.get("sink", []),
        "metric_kinds": by_kind.get("metric", []),
        "auth_methods": auth_methods(),
        "limits": {
            "max_page_size": settings.API_PAGE_SIZE_MAX,
            "default_batch_size": get_setting("default_batch_size"),
            "max_batch_size": get_definition("default_batch_size").maximum,
            "max_job_timeout_seconds": settings.ETL_MAX_TIMEOUT_SECONDS,
            # Runs at once per worker machine: the qcluster's workers (per job: config.max_concurrent).
            "max_concurrent_executions": settings.Q_CLUSTER["workers"],
            "data_roots": len(settings.ETL_DATA_ROOTS),
        },
    }
