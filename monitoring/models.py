from django.conf import settings
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


class NotificationEvent(models.TextChoices):
    """What a rule may be told about. `test` is only sent by the test-send route."""

    FAILED = "failed"
    SUCCEEDED = "succeeded"
    STOPPED = "stopped"
    SLOW = "slow"
    MISSED = "missed"
    TEST = "test"


RULE_EVENTS = [event for event in NotificationEvent.values if event != NotificationEvent.TEST]


class NotificationChannel(models.Model):
    """Where notifications go: a webhook URL (signed with the channel's secret)
    or email addresses (through Django's email backend)."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # webhook: {"url"}; email: {"to": [addresses]}.
    config = models.JSONField(default=dict, blank=True)
    # The webhook's signing secret, Fernet-encrypted (contexts/crypto.py); never returned.
    encrypted_secret = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def secret_set(self) -> bool:
        return bool(self.encrypted_secret)

    def audit_snapshot(self) -> dict:
        """What an audit row keeps: never the secret, nor its ciphertext."""
        return {"name": self.name, "kind": self.kind, "config": self.config, "secret_set": self.secret_set}


class NotificationRule(models.Model):
    """Which events of which jobs go to a channel. A rule sees only the jobs its
    owner may see: `jobs` can name only those, and a rule for every job
    (`all_jobs`, `"jobs": null` in the API) fires only for those."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.ForeignKey(NotificationChannel, on_delete=models.PROTECT, related_name="rules")
    events = models.JSONField(default=list)
    all_jobs = models.BooleanField(default=False)
    jobs = models.ManyToManyField("jobs.Job", blank=True, related_name="notification_rules")
    enabled = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def job_ids(self) -> list[int] | None:
        """The API's `jobs`: None for every job (uses a prefetched `jobs`)."""
        return None if self.all_jobs else sorted(job.pk for job in self.jobs.all())

    def audit_snapshot(self) -> dict:
        return {
            "name": self.name,
            "channel": self.channel.name,
            "events": self.events,
            "jobs": None if self.all_jobs else sorted(self.jobs.values_list("pk", flat=True)),
            "enabled": self.enabled,
            "owner": self.owner.get_username() if self.owner else None,
        }


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # queued, or waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after its last attempt


class NotificationDelivery(models.Model):
    """One notification to one channel and its attempts: the delivery log.

    At most one per (channel, event, execution), and per (channel, event, job,
    slot) for a missed scheduled slot, so a run or a slot is never announced
    twice on the same channel however many rules or checks match it."""

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(
        NotificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event = models.CharField(max_length=10, choices=NotificationEvent.choices)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    execution = models.ForeignKey(
        "execution.Execution", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The scheduled time a `missed` notification is about.
    slot = models.DateTimeField(null=True, blank=True)
    # The JSON sent (without `sent_at`, stamped at each attempt).
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "event", "execution"],
                condition=models.Q(execution__isnull=False),
                name="one_delivery_per_channel_event_execution",
            ),
            models.UniqueConstraint(
                fields=["channel", "event", "job", "slot"],
                condition=models.Q(slot__isnull=False),
                name="one_delivery_per_channel_event_slot",
            ),
        ]

    def __str__(self):
        return f"{self.event} -> {self.channel} ({self.status})"
