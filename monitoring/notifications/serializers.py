"""Channels, rules and deliveries as the API shows them (design.md, "Notifications")."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from rest_framework import serializers

from contexts import crypto
from etlsite.serializers import StrictFieldsMixin
from jobs.access import visible_jobs
from monitoring.models import RULE_EVENTS, NotificationChannel, NotificationDelivery, NotificationRule
from monitoring.notifications.outbound import url_problem

MAX_RECIPIENTS = 50
MIN_SECRET_LENGTH = 16
CONFIG_KEYS = {NotificationChannel.Kind.WEBHOOK: {"url"}, NotificationChannel.Kind.EMAIL: {"to"}}


def config_problems(kind: str, config) -> dict:
    """`{"config": {key: [message]}}` for a channel's config, empty when it is fine."""
    if not isinstance(config, dict):
        return {"config": ["Give config as an object."]}
    wanted = CONFIG_KEYS.get(kind)
    if wanted is None:
        return {}
    problems = {
        key: [f"Unknown key; a {kind} channel takes {', '.join(sorted(wanted))}."]
        for key in set(config) - wanted
    }
    if kind == NotificationChannel.Kind.WEBHOOK:
        problem = url_problem(config.get("url"))
        if problem:
            problems["url"] = [problem]
    else:
        problems.update(recipient_problems(config.get("to")))
    return {"config": problems} if problems else {}


def recipient_problems(to) -> dict:
    if not isinstance(to, list) or not to:
        return {"to": ["Give a list of email addresses."]}
    if len(to) > MAX_RECIPIENTS:
        return {"to": [f"At most {MAX_RECIPIENTS} addresses."]}
    bad = []
    for address in to:
        try:
            validate_email(address)
        except (DjangoValidationError, TypeError):
            bad.append(str(address))
    return {"to": [f"Not an email address: {', '.join(bad)}."]} if bad else {}


def masked_url(url: str) -> str:
    """Scheme and host only: a webhook URL's path often is a credential itself."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


class NotificationChannelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=MIN_SECRET_LENGTH,
        trim_whitespace=False,
        help_text="Webhooks: the key of the X-Etlsite-Signature HMAC. Never returned; omit it to keep it.",
    )
    secret_set = serializers.BooleanField(read_only=True)

    class Meta:
        model = NotificationChannel
        fields = ["id", "name", "kind", "config", "secret", "secret_set", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        config = attrs.get("config", getattr(self.instance, "config", {}))
        problems = config_problems(kind, config)
        has_secret = "secret" in attrs or bool(self.instance and self.instance.secret_set)
        if kind == NotificationChannel.Kind.WEBHOOK and not has_secret:
            problems["secret"] = [
                f"A webhook is signed: give a secret of at least {MIN_SECRET_LENGTH} characters."
            ]
        if kind == NotificationChannel.Kind.EMAIL and "secret" in attrs:
            problems["secret"] = ["Email channels are not signed; leave secret out."]
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def save(self, **kwargs):
        secret = self.validated_data.pop("secret", None)
        if secret is not None:
            kwargs["encrypted_secret"] = crypto.encrypt(secret)
        if self.validated_data.get("kind") == NotificationChannel.Kind.EMAIL:
            kwargs["encrypted_secret"] = ""
        return super().save(**kwargs)

    def to_representation(self, channel):
        data = super().to_representation(channel)
        request = self.context.get("request")
        may_change = request is not None and request.user.has_perm("monitoring.change_notificationchannel")
        if not may_change and "url" in data["config"]:
            data["config"] = {**data["config"], "url": masked_url(data["config"]["url"])}
        return data


class NotificationRuleSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    channel = serializers.PrimaryKeyRelatedField(
        queryset=NotificationChannel.objects.all(),
        error_messages={
            "does_not_exist": "No channel with id {pk_value}.",
            "incorrect_type": "Give a channel id.",
        },
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(
            choices=RULE_EVENTS,
            error_messages={"invalid_choice": f"Unknown event {{input}}; known: {', '.join(RULE_EVENTS)}."},
        ),
        min_length=1,
    )
    jobs = serializers.ListField(
        source="job_ids",
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Job ids, or null for every job you may see.",
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = NotificationRule
        fields = ["id", "name", "channel", "events", "jobs", "enabled", "owner", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_events(self, events):
        return sorted(set(events), key=RULE_EVENTS.index)

    def validate_jobs(self, ids):
        if ids is None:
            return None
        if not ids:
            raise serializers.ValidationError("Give job ids, or null for every job you may see.")
        wanted = set(ids)
        found = set(visible_jobs(self.context["request"]).filter(pk__in=wanted).values_list("pk", flat=True))
        missing = sorted(wanted - found)
        if missing:
            # A hidden job answers exactly like one that does not exist.
            raise serializers.ValidationError(f"No job with id {', '.join(map(str, missing))}.")
        return sorted(found)

    def _save_jobs(self, rule, validated_data, job_ids):
        rule.all_jobs = job_ids is None
        for attr, value in validated_data.items():
            setattr(rule, attr, value)
        rule.save()
        rule.jobs.set([] if job_ids is None else job_ids)
        return rule

    def create(self, validated_data):
        job_ids = validated_data.pop("job_ids")
        rule = NotificationRule(owner=self.context["request"].user)
        return self._save_jobs(rule, validated_data, job_ids)

    def update(self, rule, validated_data):
        if "job_ids" not in validated_data:
            return super().update(rule, validated_data)
        job_ids = validated_data.pop("job_ids")
        return self._save_jobs(rule, validated_data, job_ids)


class NotificationDeliverySerializer(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = NotificationDelivery
        fields = [
            "id",
            "channel",
            "channel_name",
            "rule",
            "event",
            "job",
            "execution",
            "slot",
            "status",
            "attempts",
            "response_code",
            "error",
            "payload",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields
