from django.db import models


class SystemState(models.Model):
    """One row recording when setup steps happened (initialize, configure)."""

    initialized_at = models.DateTimeField(null=True, blank=True)
    configured_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"initialized {self.initialized_at}, configured {self.configured_at}"

    @classmethod
    def current(cls) -> "SystemState":
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class ResourceSample(models.Model):
    """One reading of a host's CPU, memory, disk and network.

    Counters (`*_bytes`, `cpu_*_seconds`) are cumulative as the OS reports
    them; rates are the difference between two samples of the same host.
    """

    host = models.CharField(max_length=255)
    taken_at = models.DateTimeField(db_index=True)
    cpu_percent = models.FloatField()
    cpu_busy_seconds = models.FloatField()
    cpu_total_seconds = models.FloatField()
    load_1m = models.FloatField(null=True)
    memory_percent = models.FloatField()
    memory_used_bytes = models.BigIntegerField()
    memory_total_bytes = models.BigIntegerField()
    swap_percent = models.FloatField()
    disk_percent = models.FloatField()
    disk_used_bytes = models.BigIntegerField()
    disk_total_bytes = models.BigIntegerField()
    disk_read_bytes = models.BigIntegerField()
    disk_write_bytes = models.BigIntegerField()
    net_sent_bytes = models.BigIntegerField()
    net_recv_bytes = models.BigIntegerField()

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["host", "-taken_at"], name="resource_sample_host_time")]

    def __str__(self):
        return f"{self.host} @ {self.taken_at:%Y-%m-%d %H:%M:%S}"


class CustomMetric(models.Model):
    """One value of a named series, pushed by a client or recorded by a job's `metric` component."""

    name = models.CharField(max_length=200, db_index=True)
    # Null when a job's aggregate had nothing to aggregate (e.g. sum over no rows).
    value = models.FloatField(null=True)
    labels = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=20, default="api")
    execution = models.ForeignKey(
        "execution.Execution", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["name", "-recorded_at"], name="custom_metric_name_time")]

    def __str__(self):
        return f"{self.name}={self.value} {self.labels}"


class ArchivedTotal(models.Model):
    """Totals of rows the retention job deleted (finished executions by state, rows
    moved), so all-time counters exported to Prometheus never go down."""

    name = models.CharField(max_length=100, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"
