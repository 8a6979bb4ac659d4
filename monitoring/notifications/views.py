"""/api/v1/notifications/channels, /rules and /deliveries.

Channels hold a secret and decide where the server sends requests, so they
are changed like credentials: with the admin role (and the `admin` scope on a
key). Rules are changed with the editor role; every reader may read both
(a webhook URL shows only its host to those who may not change channels).
"""

from django.db.models import Q
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.audit import AuditedViewSetMixin, record
from contexts.views import encryption_errors_as_503
from etlsite.errors import Conflict
from jobs.access import sees_every_job, visible_jobs
from jobs.models import Job
from monitoring.models import NotificationChannel, NotificationDelivery, NotificationRule
from monitoring.notifications.delivery import send_test
from monitoring.notifications.filters import ChannelFilterSet, DeliveryFilterSet, RuleFilterSet
from monitoring.notifications.payloads import test_payload
from monitoring.notifications.serializers import (
    NotificationChannelSerializer,
    NotificationDeliverySerializer,
    NotificationRuleSerializer,
)

CHANGES = ("create", "update", "partial_update", "destroy")


class ChannelViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    # Its rules are listed by GET /notifications/rules?channel=<id>, which hides
    # those naming jobs the caller may not see.
    queryset = NotificationChannel.objects.all()
    serializer_class = NotificationChannelSerializer
    filterset_class = ChannelFilterSet
    search_fields = ["name"]
    ordering_fields = ["name", "kind", "created_at", "updated_at", "id"]
    action_permissions = {"test": "monitoring.change_notificationchannel"}
    action_scopes = {action: "admin" for action in (*CHANGES, "test")}
    # A test send waits on the endpoint; it must not hold SQLite's write lock meanwhile.
    non_atomic_actions = ("test",)
    extra_error_statuses = {"destroy": ("409",)}

    def perform_create(self, serializer):
        with encryption_errors_as_503():
            super().perform_create(serializer)

    def perform_update(self, serializer):
        with encryption_errors_as_503():
            super().perform_update(serializer)

    def perform_destroy(self, channel):
        rules = sorted(channel.rules.values_list("name", flat=True))
        if rules:
            raise Conflict(
                f"Channel {channel.name!r} is used by the rules {', '.join(rules)}; delete them or "
                "point them at another channel first.",
                details={"rules": rules},
            )
        super().perform_destroy(channel)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "NotificationTestResult",
            {
                "ok": serializers.BooleanField(),
                "delivery": serializers.IntegerField(),
                "response_code": serializers.IntegerField(allow_null=True),
                "error": serializers.CharField(),
            },
        ),
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `test` notification now (one attempt, no retries); answers what the endpoint said."""
        channel = self.get_object()
        delivery = send_test(channel, test_payload(channel))
        result = {
            "ok": delivery.status == "delivered",
            "delivery": delivery.pk,
            "response_code": delivery.response_code,
            "error": delivery.error,
        }
        record(request, "test", channel, after=result)
        return Response(result)


def visible_rules(request, rules):
    """Rules whose jobs the caller may all see (a global rule names none)."""
    if sees_every_job(request):
        return rules
    hidden = Job.objects.exclude(pk__in=visible_jobs(request).values("pk"))
    return rules.exclude(jobs__in=hidden)


class RuleViewSet(AuditedViewSetMixin, viewsets.ModelViewSet):
    queryset = NotificationRule.objects.select_related("channel", "owner").prefetch_related("jobs")
    serializer_class = NotificationRuleSerializer
    filterset_class = RuleFilterSet
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "updated_at", "id"]

    def get_queryset(self):
        return visible_rules(self.request, super().get_queryset())


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log: deliveries about jobs the caller may see, and test sends."""

    queryset = NotificationDelivery.objects.select_related("channel")
    serializer_class = NotificationDeliverySerializer
    filterset_class = DeliveryFilterSet
    ordering_fields = ["created_at", "last_attempt_at", "id"]

    def get_queryset(self):
        deliveries = super().get_queryset()
        if sees_every_job(self.request):
            return deliveries
        return deliveries.filter(Q(job__isnull=True) | Q(job__in=visible_jobs(self.request).values("pk")))
