from django.utils import timezone
from rest_framework import serializers

from accounts.models import ApiKey, AuditEvent, Scope
from etlsite.serializers import StrictFieldsMixin
from jobs.serializers import VisibleJobField


class LoginSerializer(StrictFieldsMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, style={"input_type": "password"}, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ApiKeySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    # Declared: the library's model field defaults to None, which would make it optional here.
    name = serializers.CharField(max_length=50, help_text="What the key is for, e.g. 'ci'.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope.choices)
    )
    jobs = VisibleJobField(many=True, required=False)
    expires_at = serializers.DateTimeField(
        source="expiry_date", required=False, allow_null=True, help_text="No expiry when null."
    )
    owner = serializers.CharField(source="owner.username", read_only=True)
    # The public id is the key's prefix: the primary key embeds the key's hash.
    id = serializers.CharField(source="prefix", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "prefix",
            "name",
            "owner",
            "scopes",
            "jobs",
            "expires_at",
            "revoked",
            "created",
            "last_used_at",
        ]
        read_only_fields = ["id", "prefix", "revoked", "created", "last_used_at"]

    def validate_scopes(self, scopes):
        return sorted(set(scopes))

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value

    def create(self, validated_data):
        jobs = validated_data.pop("jobs", [])
        api_key, key = ApiKey.objects.create_key(**validated_data)
        api_key.jobs.set(jobs)
        self.plaintext_key = key
        return api_key


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "timestamp",
            "username",
            "auth_method",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "request_id",
            "ip",
        ]
