"""Prometheus exposition at /metrics, built at scrape time from data every gunicorn
worker shares (request metrics in prometheus-client's multiprocess files, the
database, django-q2's cluster status), so every worker answers with the same numbers.

Auth: any authenticated API credential (`Authorization: Token ...` works in a
Prometheus scrape config), or no credential from an address listed in the
setting METRICS_ALLOW_ANONYMOUS_FROM (default: localhost only).

Execution figures count the executions of the jobs the caller may see (an
anonymous scrape sees the jobs open to everyone); the totals of executions
already deleted by retention belong to no job any more and are added only for
a caller who sees every job (an admin). HTTP and worker figures are server-wide.
"""

import ipaddress

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from jobs.access import sees_every_job, visible_jobs
from monitoring import execution_stats, health, request_metrics

DEFAULT_ANONYMOUS_FROM = ["127.0.0.1/32", "::1/128"]


class StoredDataCollector:
    """A prometheus_client collector reading everything at collect() time, with the
    execution figures over `jobs` (None: the whole system)."""

    def __init__(self, jobs):
        self.jobs = jobs

    def collect(self):
        yield from self._requests()
        yield from self._executions()
        yield from self._workers()

    def _requests(self):
        yield from request_metrics.collect()

    def _executions(self):
        current = GaugeMetricFamily(
            "etlsite_executions", "Executions stored now, by state.", labels=["state"]
        )
        for state, count in execution_stats.state_counts(jobs=self.jobs).items():
            current.add_metric([state], count)
        yield current
        totals = execution_stats.finished_totals(self.jobs)
        finished = CounterMetricFamily(
            "etlsite_executions_finished",
            "Executions that ended, by final state (all time).",
            labels=["state"],
        )
        for state, count in totals["by_state"].items():
            finished.add_metric([state], count)
        yield finished
        yield CounterMetricFamily(
            "etlsite_rows_moved",
            "Rows written by sinks of finished executions (all time).",
            value=totals["rows_moved"],
        )

    def _workers(self):
        clusters = health.worker_clusters()
        yield GaugeMetricFamily("etlsite_worker_clusters", "django-q2 clusters alive.", value=len(clusters))
        yield GaugeMetricFamily(
            "etlsite_workers", "django-q2 worker processes alive.", value=sum(c["workers"] for c in clusters)
        )
        yield GaugeMetricFamily(
            "etlsite_queue_depth", "Tasks waiting in the django-q2 queue.", value=health.queue_depth()
        )


def exposition(request) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoredDataCollector(None if sees_every_job(request) else visible_jobs(request)))
    return generate_latest(registry)


def _anonymous_networks() -> list:
    allowed = getattr(settings, "METRICS_ALLOW_ANONYMOUS_FROM", DEFAULT_ANONYMOUS_FROM)
    return [ipaddress.ip_network(item, strict=False) for item in allowed]


class ScrapePermission(BasePermission):
    message = (
        "Authenticate (Authorization: Token ...) or scrape from an address in METRICS_ALLOW_ANONYMOUS_FROM."
    )

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in network for network in _anonymous_networks())


class PrometheusView(APIView):
    permission_classes = [ScrapePermission]
    # Plain text for Prometheus: keep DRF's schema generator out of it.
    schema = None

    def get(self, request):
        return HttpResponse(exposition(request), content_type=CONTENT_TYPE_LATEST)
