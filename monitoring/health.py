"""Health checks. Each returns `{"status": ok|degraded|failing, "message", ...details}`;
`run_checks` adds timings and the overall status.

Critical checks (database, migrations) make /health answer 503 when they
fail; the others can only make it `degraded`, because a failing job or an
unreachable warehouse does not make the API itself unusable.
"""

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

from contexts.models import DEFAULT_PORTS, Credential
from etlsite.caching import cached

OK, DEGRADED, FAILING = "ok", "degraded", "failing"
_SEVERITY = {OK: 0, DEGRADED: 1, FAILING: 2}
CRITICAL_CHECKS = ("database", "migrations")

MIGRATIONS_CACHE_SECONDS = 30
EXTERNAL_TIMEOUT_SECONDS = 2.0
EXTERNAL_CACHE_SECONDS = 30
# A django-q2 cluster rewrites its status every 0.5 s and it expires after 3 s,
# so a status older than this means the cluster died without cleaning up.
WORKER_STATUS_MAX_AGE = timedelta(seconds=10)


def worst(statuses) -> str:
    return max(statuses, key=_SEVERITY.__getitem__, default=OK)


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means "unreachable" here
        return {"status": FAILING, "message": f"The database is unreachable: {error.__class__.__name__}."}
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    connection = connections[DEFAULT_DB_ALIAS]
    return {
        "status": OK if latency_ms < 500 else DEGRADED,
        "message": f"{connection.vendor} answered in {latency_ms} ms.",
        "vendor": connection.vendor,
        "latency_ms": latency_ms,
    }


def pending_migrations() -> list[str]:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations() -> dict:
    try:
        # Loading the migration graph takes a few hundred ms: readiness probes
        # share one answer for a short while.
        pending = cached("pending-migrations", pending_migrations, MIGRATIONS_CACHE_SECONDS)
    except Exception as error:
        return {"status": FAILING, "message": f"Could not read migrations: {error.__class__.__name__}."}
    if pending:
        return {
            "status": FAILING,
            "message": f"{len(pending)} migrations are not applied: run `manage.py migrate`.",
            "pending": pending,
        }
    return {"status": OK, "message": "All migrations are applied.", "pending": []}


def check_database_and_migrations() -> dict:
    """GET /health/database: connectivity, latency and migrations applied."""
    database = check_database()
    if database["status"] == FAILING:
        return database
    migrations = check_migrations()
    return {
        **database,
        "status": worst([database["status"], migrations["status"]]),
        "message": f"{database['message']} {migrations['message']}",
        "migrations": {"applied": not migrations.get("pending"), "pending": migrations.get("pending", [])},
    }


def worker_clusters() -> list[dict]:
    """The django-q2 clusters that reported their status recently (read from the shared cache)."""

    fresh_after = timezone.now() - WORKER_STATUS_MAX_AGE
    clusters = []
    for stat in Stat.get_all():
        if stat.status == Conf.STOPPED or stat.timestamp < fresh_after:
            continue
        clusters.append(
            {
                "cluster_id": str(stat.cluster_id),
                "host": stat.host,
                "status": stat.status,
                "workers": len(stat.workers),
                "reported_at": stat.timestamp,
            }
        )
    return clusters


def queue_depth() -> int:

    return get_broker().queue_size()


def check_worker() -> dict:
    clusters = worker_clusters()
    workers = sum(cluster["workers"] for cluster in clusters)
    if not clusters:
        return {
            "status": FAILING,
            "message": "No background worker is running: start one with `manage.py qcluster`.",
            "clusters": [],
            "workers": 0,
            "queued_tasks": queue_depth(),
        }
    return {
        "status": OK,
        "message": f"{len(clusters)} cluster(s) with {workers} worker process(es).",
        "clusters": clusters,
        "workers": workers,
        "queued_tasks": queue_depth(),
    }


def _endpoint(credential) -> tuple[str | None, int | None]:
    """Host and port to try for a credential, from its non-secret config."""

    config = credential.config or {}
    url = config.get("url") or config.get("base_url")
    if url:
        parts = urlsplit(url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    port = config.get("port") or DEFAULT_PORTS.get(credential.kind)
    try:
        port = int(port) if port is not None else None
    except (TypeError, ValueError):
        port = None
    return config.get("host"), port


def _probe(target: tuple[str, int]) -> dict:
    """Open and close a TCP connection (run in a thread pool: sockets only, no database)."""
    started = time.perf_counter()
    try:
        with socket.create_connection(target, timeout=EXTERNAL_TIMEOUT_SECONDS):
            result = {"reachable": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except OSError as error:
        result = {"reachable": False, "error": error.strerror or error.__class__.__name__}
    result["checked_at"] = timezone.now().isoformat()
    return result


def _probe_all(targets) -> dict:
    """Probe results per (host, port), from the shared cache when checked recently."""
    keys = {target: f"monitoring:reach:{target[0]}:{target[1]}" for target in targets}
    cached = cache.get_many(list(keys.values()))
    results = {target: {**cached[key], "cached": True} for target, key in keys.items() if key in cached}
    unknown = [target for target in targets if target not in results]
    with ThreadPoolExecutor(max_workers=8) as pool:
        fresh = dict(zip(unknown, pool.map(_probe, unknown), strict=True))
    cache.set_many({keys[target]: result for target, result in fresh.items()}, EXTERNAL_CACHE_SECONDS)
    results.update({target: {**result, "cached": False} for target, result in fresh.items()})
    return results


def check_external(*, contexts) -> dict:
    """TCP reachability of the hosts of the credentials of `contexts` (the ones the
    caller may see; secrets are never read)."""

    credentials = list(
        Credential.objects.filter(context__in=contexts)
        .select_related("context")
        .order_by("context__name", "name")
    )
    targets, results = {}, []
    for credential in credentials:
        host, port = _endpoint(credential)
        entry = {"context": credential.context.name, "credential": credential.name, "kind": credential.kind}
        if not host or not port:
            results.append({**entry, "status": "skipped", "message": "No host and port to check."})
            continue
        targets.setdefault((host, port), []).append(len(results))
        results.append({**entry, "host": host, "port": port})
    probes = _probe_all(list(targets))
    for target, indexes in targets.items():
        for index in indexes:
            probe = probes[target]
            results[index].update(probe, status=OK if probe["reachable"] else FAILING)
    unreachable = [f"{r['context']}.{r['credential']}" for r in results if r["status"] == FAILING]
    return {
        "status": DEGRADED if unreachable else OK,
        "message": (
            f"Unreachable: {', '.join(unreachable)}." if unreachable else f"{len(targets)} host(s) reachable."
        ),
        "services": results,
    }


def run_checks(checks: dict) -> dict:
    """Run `{name: function}` and summarize: overall status, HTTP status code and timings."""
    results = {}
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            result = check()
        except Exception as error:  # a broken check reports itself instead of breaking /health
            result = {"status": FAILING, "message": f"The check raised {error.__class__.__name__}: {error}"}
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    critical_failed = any(results[name]["status"] == FAILING for name in CRITICAL_CHECKS if name in results)
    others = [result["status"] for name, result in results.items() if name not in CRITICAL_CHECKS]
    status = FAILING if critical_failed else (DEGRADED if worst(others) != OK else OK)
    return {
        "status": status,
        "http_status": 503 if critical_failed else 200,
        "checked_at": timezone.now(),
        "checks": results,
    }
