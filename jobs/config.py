"""The job-level run settings (`config` in the job JSON) and their validation."""

import zoneinfo

from croniter import croniter
from django.conf import settings
from rest_framework import serializers

# `batch_size` defaults to the run-time setting `default_batch_size` (see Job.effective_config).
DEFAULT_JOB_CONFIG = {
    "timeout_seconds": 3600,
    "max_retries": 0,
    "retry_delay_seconds": 60,
    "max_concurrent": 1,
    "schedule": None,
    "timezone": "UTC",
    "enabled": True,
    "catchup": False,
}


class JobConfigSerializer(serializers.Serializer):
    batch_size = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)
    timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=settings.ETL_MAX_TIMEOUT_SECONDS, required=False
    )
    max_retries = serializers.IntegerField(min_value=0, max_value=100, required=False)
    retry_delay_seconds = serializers.IntegerField(min_value=0, max_value=86_400, required=False)
    max_concurrent = serializers.IntegerField(min_value=1, max_value=100, required=False)
    schedule = serializers.CharField(
        allow_null=True, allow_blank=True, required=False, help_text="Cron expression, e.g. '0 2 * * *'."
    )
    timezone = serializers.CharField(required=False, help_text="IANA time zone of the schedule.")
    enabled = serializers.BooleanField(required=False)
    catchup = serializers.BooleanField(
        required=False,
        help_text="Run every cron slot missed while workers were down, once each (default: only the latest).",
    )
    expected_seconds = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        required=False,
        help_text="A run longer than this is announced as slow (notifications); default: 3x the recent median.",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Unknown setting; known: {', '.join(self.fields)}."] for name in unknown}
                )
        return super().to_internal_value(data)

    def validate_schedule(self, value):
        if value and not croniter.is_valid(value):
            raise serializers.ValidationError(f"{value!r} is not a valid cron expression.")
        return value or None

    def validate_timezone(self, value):
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"{value!r} is not a known IANA time zone.")
        return value
