from rest_framework import serializers

from etlsite.serializers import StrictFieldsMixin
from monitoring import custom_metrics
from monitoring.models import CustomMetric

MAX_PUSH = 1000


class CustomMetricListSerializer(serializers.ListSerializer):
    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one metric.")
        if len(attrs) > MAX_PUSH:
            raise serializers.ValidationError(f"At most {MAX_PUSH} metrics per request.")
        return attrs


class CustomMetricSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """`{"name": "orders_loaded", "value": 42, "labels": {"region": "eu"}, "recorded_at": optional}`."""

    value = serializers.FloatField()
    recorded_at = serializers.DateTimeField(required=False)

    class Meta:
        model = CustomMetric
        fields = ["id", "name", "value", "labels", "recorded_at", "source"]
        read_only_fields = ["id", "source"]
        list_serializer_class = CustomMetricListSerializer

    def _clean(self, function, value):
        try:
            return function(value)
        except custom_metrics.MetricError as error:
            raise serializers.ValidationError(error.message) from None

    def validate_name(self, value):
        return self._clean(custom_metrics.clean_name, value)

    def validate_value(self, value):
        return self._clean(custom_metrics.clean_value, value)

    def validate_labels(self, value):
        return self._clean(custom_metrics.clean_labels, value)


class InitializeSerializer(StrictFieldsMixin, serializers.Serializer):
    demo = serializers.BooleanField(
        default=True, help_text="Also create the demo job and copy its sample data (default true)."
    )


class ConfigureSerializer(StrictFieldsMixin, serializers.Serializer):
    settings = serializers.DictField(
        help_text='Setting names to values, e.g. {"log_retention_days": 14}; see GET /setup/configuration.'
    )
