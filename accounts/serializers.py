from django.utils import timezone
from rest_framework import serializers

from accounts.access import visible_among
from accounts.models import ApiKey, AuditEvent, Scope
from etlsite.serializers import StrictFieldsMixin


class VisibleJobField(serializers.SlugRelatedField):
    """A job by name, among those the caller may see: a hidden one answers
    exactly like a name that does not exist. `queryset`: the jobs to name from."""

    default_error_messages = {"does_not_exist": "No job named '{value}'."}

    def __init__(self, queryset, **kwargs):
        super().__init__(slug_field="name", queryset=queryset, **kwargs)

    def get_queryset(self):
        # Without a request (an internal caller, not a person) every job may be named.
        request = self.context.get("request")
        jobs = super().get_queryset()
        return visible_among(request, jobs) if request is not None else jobs


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
    # The model names its jobs; accounts sits below the jobs app and does not import it.
    jobs = VisibleJobField(
        queryset=ApiKey._meta.get_field("jobs").related_model.objects.all(), many=True, required=False
    )
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
