from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from accounts.access import name_taken, sees_everything, visible_among
from contexts.models import SECRET_LOOKING_KEY, Context, Credential, Parameter, context_name_validator
from contexts.values import NAME_PATTERN, NAME_RULE, ParameterType, coerce_value
from etlsite.serializers import StrictFieldsMixin

# Non-secret config fields each kind takes (None: any), the required ones, and
# the secret names it takes (None: any well-formed name).
DATABASE_FIELDS = {"host", "port", "database", "user", "options"}
CREDENTIAL_KINDS = {
    Credential.Kind.POSTGRES: (DATABASE_FIELDS, {"host", "database"}, {"password"}),
    Credential.Kind.MYSQL: (DATABASE_FIELDS, {"host", "database"}, {"password"}),
    Credential.Kind.SQLITE: ({"database", "options"}, {"database"}, set()),
    Credential.Kind.HTTP: (None, {"url"}, None),
    Credential.Kind.GENERIC: (None, set(), None),
}


def credential_problems(kind: str, config: dict, secret_names) -> dict[str, list[str]]:
    """Field -> messages for a credential's config and the secret names it would hold."""
    allowed, required, secrets_allowed = CREDENTIAL_KINDS[kind]
    problems: dict[str, list[str]] = {}
    for key in config:
        if SECRET_LOOKING_KEY.search(key):
            problems[f"config.{key}"] = [
                "This looks like a secret: put it in `secrets`, which is stored encrypted "
                "(config is shown to every reader)."
            ]
        elif allowed is not None and key not in allowed:
            problems[f"config.{key}"] = [
                f"Unknown field for a {kind} credential; use: {', '.join(sorted(allowed))}."
            ]
    for key in sorted(required - set(config)):
        problems[f"config.{key}"] = [f"A {kind} credential needs this field."]
    port = config.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        problems["config.port"] = ["Give a port number between 1 and 65535."]
    if "options" in config and not isinstance(config["options"], dict):
        problems["config.options"] = ["Give options as an object of name -> value."]
    for name in sorted(secret_names):
        if secrets_allowed is not None and name not in secrets_allowed:
            takes = ", ".join(sorted(secrets_allowed)) or "no secrets"
            problems[f"secrets.{name}"] = [f"A {kind} credential takes {takes}; remove this one (null)."]
    return problems


class ParameterListSerializer(serializers.ListSerializer):
    def validate(self, items):
        names = [item["name"] for item in items]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise serializers.ValidationError(
                f"Each parameter name may appear once: {', '.join(duplicates)}."
            )
        return items

    @transaction.atomic
    def replace(self, context: Context) -> list[Parameter]:
        """Make the context's parameters exactly this list. A secret given without
        `value` keeps its stored value; `"value": null` clears it."""
        stored = {p.name: p for p in context.parameters.all()}
        parameters = []
        for item in self.validated_data:
            parameter = Parameter(
                context=context, name=item["name"], type=item["type"], description=item["description"]
            )
            previous = stored.get(item["name"])
            if "value" in item:
                parameter.set_value(item["value"])
            elif parameter.is_secret and previous is not None and previous.is_secret:
                parameter.encrypted_value = previous.encrypted_value
            parameters.append(parameter)
        context.parameters.all().delete()
        Parameter.objects.bulk_create(parameters)
        context.save(update_fields=["updated_at"])
        return sorted(parameters, key=lambda p: p.name)


class ParameterSerializer(StrictFieldsMixin, serializers.Serializer):
    """A parameter as the API shows it: secret values are never returned, only `value_set`."""

    name = serializers.RegexField(NAME_PATTERN, max_length=100, error_messages={"invalid": NAME_RULE})
    type = serializers.ChoiceField(choices=ParameterType.choices, default=ParameterType.STRING)
    value = serializers.JSONField(required=False, allow_null=True)
    value_set = serializers.BooleanField(read_only=True)
    description = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta:
        list_serializer_class = ParameterListSerializer

    def validate(self, attrs):
        if "value" in attrs and attrs["value"] is not None:
            try:
                attrs["value"] = coerce_value(attrs["type"], attrs["value"])
            except ValueError as error:
                raise serializers.ValidationError({"value": [str(error)]}) from None
        return attrs

    def to_representation(self, parameter):
        data = {
            "name": parameter.name,
            "type": parameter.type,
            "value": parameter.value,
            "value_set": parameter.value_set,
            "description": parameter.description,
        }
        if parameter.is_secret:
            del data["value"]
        return data


class EnvironmentSerializer(serializers.Serializer):
    """`{"NAME": "text", ...}`, used in configs as ${env.NAME}."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Give an object of NAME -> text."]})
        problems = {}
        for name, value in data.items():
            if not NAME_PATTERN.match(name):
                problems[name] = [NAME_RULE]
            elif not isinstance(value, str):
                problems[name] = ["Environment values are text: put the value in quotes."]
        if problems:
            raise serializers.ValidationError(problems)
        return dict(data)

    def to_representation(self, environment):
        return dict(environment)


class CredentialSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A credential of the view's context (`view.etl_context`)."""

    secrets = serializers.DictField(
        child=serializers.CharField(allow_null=True, allow_blank=True, trim_whitespace=False),
        write_only=True,
        required=False,
        help_text="Secret name -> value (null removes it). Secrets not named are kept. Never returned.",
    )
    secrets_set = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Credential
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "config",
            "secrets",
            "secrets_set",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_config(self, config):
        if not isinstance(config, dict):
            raise serializers.ValidationError("Give config as an object.")
        return config

    def validate(self, attrs):
        context = self.context["view"].etl_context
        name = attrs.get("name", getattr(self.instance, "name", None))
        duplicate = Credential.objects.filter(context=context, name=name)
        if self.instance is not None:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise serializers.ValidationError(
                {"name": [f"Context {context.name!r} already has a credential {name!r}."]}
            )

        changes = attrs.get("secrets", {})
        kept = set(self.instance.secrets_set) if self.instance is not None else set()
        secret_names = (kept | {n for n, v in changes.items() if v is not None}) - {
            n for n, v in changes.items() if v is None
        }
        problems = {
            f"secrets.{n}": ["Give a value, or null to remove the secret."]
            for n, v in changes.items()
            if v == ""
        }
        problems.update({f"secrets.{n}": [NAME_RULE] for n in changes if not NAME_PATTERN.match(n)})
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        config = attrs.get("config", getattr(self.instance, "config", {}))
        problems.update(credential_problems(kind, config, secret_names))
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def create(self, validated_data):
        secrets = validated_data.pop("secrets", {})
        credential = Credential(context=self.context["view"].etl_context, **validated_data)
        credential.update_secrets(secrets)
        credential.save()
        return credential

    def update(self, credential, validated_data):
        credential.update_secrets(validated_data.pop("secrets", {}))
        for attr, value in validated_data.items():
            setattr(credential, attr, value)
        credential.save()
        return credential


class CredentialBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Credential
        fields = ["id", "name", "kind", "secrets_set"]


class ContextSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    environment = EnvironmentSerializer(required=False)
    parameters = ParameterSerializer(many=True, read_only=True)
    credentials = CredentialBriefSerializer(many=True, read_only=True)
    default_for_jobs = serializers.SerializerMethodField(
        help_text="The jobs you may see that run in this context by default."
    )
    allowed_groups = serializers.SlugRelatedField(
        slug_field="name",
        many=True,
        queryset=Group.objects.all(),
        required=False,
        help_text="If any, only members of these groups (and admins) see and use this context.",
    )

    class Meta:
        model = Context
        fields = [
            "id",
            "name",
            "description",
            "is_default",
            "environment",
            "parameters",
            "credentials",
            "default_for_jobs",
            "allowed_groups",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Only one context is default: saving one as default unmarks the others
        # (Context.save), so the database constraint must not turn into a 400.
        validators = []
        extra_kwargs = {
            "is_default": {"validators": []},
            "name": {
                "validators": [
                    context_name_validator,
                    UniqueValidator(Context.objects.all(), name_taken("context")),
                ]
            },
        }

    def get_default_for_jobs(self, context) -> list[str]:
        jobs = context.default_for_jobs.all()
        return [job.name for job in jobs if self._visible_job_ids is None or job.pk in self._visible_job_ids]

    @cached_property
    def _visible_job_ids(self) -> frozenset[int] | None:
        """The jobs the caller may see (None: all of them). Read once per
        serializer: a list's items share one child serializer."""
        request = self.context.get("request")
        if request is None or sees_everything(request):
            return None
        jobs = Context._meta.get_field("default_for_jobs").related_model.objects.all()
        return frozenset(visible_among(request, jobs).values_list("pk", flat=True))


class CloneSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[context_name_validator])
    description = serializers.CharField(required=False, allow_blank=True)

    def validate_name(self, name):
        if Context.objects.filter(name=name).exists():
            raise serializers.ValidationError(name_taken("context"))
        return name
