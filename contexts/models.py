import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction

from contexts import crypto
from contexts.values import NAME_PATTERN, NAME_RULE, ParameterType, coerce_value
from execution.engine.paths import resolve_path

name_validator = RegexValidator(NAME_PATTERN, NAME_RULE)
context_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
    "Use letters, digits, '_', '.' or '-', starting with a letter or digit.",
)

# Config keys that look like secrets are refused: they belong in `secrets`,
# which is encrypted, not in `config`, which is shown to every reader.
SECRET_LOOKING_KEY = re.compile(r"pass(word|wd)?|secret|token|api_?key|private", re.IGNORECASE)


class Context(models.Model):
    """A named environment a job runs in (dev, staging, prod...)."""

    name = models.CharField(max_length=100, unique=True, validators=[context_name_validator])
    description = models.TextField(blank=True, default="")
    is_default = models.BooleanField(default=False)
    environment = models.JSONField(default=dict, blank=True, help_text="Name -> text, used as ${env.NAME}.")
    allowed_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="+",
        help_text="If any, only members of these groups (and admins) see and use this context.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_context"
            )
        ]

    def __str__(self):
        return self.name

    @transaction.atomic
    def save(self, *args, **kwargs):
        # Marking a context as default takes the mark from the previous one.
        if self.is_default:
            Context.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
        super().save(*args, **kwargs)

    @transaction.atomic
    def clone(self, name: str, description: str | None = None) -> "Context":
        """A copy under a new name, secrets included (copied still encrypted), never default."""
        copy = Context.objects.create(
            name=name,
            description=self.description if description is None else description,
            environment=dict(self.environment),
        )
        copy.allowed_groups.set(self.allowed_groups.all())
        Parameter.objects.bulk_create(
            Parameter(
                context=copy,
                name=p.name,
                type=p.type,
                value=p.value,
                encrypted_value=p.encrypted_value,
                description=p.description,
            )
            for p in self.parameters.all()
        )
        Credential.objects.bulk_create(
            Credential(
                context=copy,
                name=c.name,
                kind=c.kind,
                config=dict(c.config),
                encrypted_secrets=dict(c.encrypted_secrets),
                description=c.description,
            )
            for c in self.credentials.all()
        )
        return copy


class Parameter(models.Model):
    """A typed value used as `${name}` in component configs. Secret ones are stored encrypted."""

    Type = ParameterType

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="parameters")
    name = models.CharField(max_length=100, validators=[name_validator])
    type = models.CharField(max_length=10, choices=ParameterType.choices, default=ParameterType.STRING)
    # Non-secret types keep their value here (null = no value: it must be given at start).
    value = models.JSONField(null=True, blank=True)
    # Secret parameters keep only a Fernet token here; `value` stays null.
    encrypted_value = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["context", "name"]
        constraints = [
            models.UniqueConstraint(fields=["context", "name"], name="unique_parameter_per_context")
        ]

    def __str__(self):
        return f"{self.context.name}.{self.name}"

    @property
    def is_secret(self) -> bool:
        return self.type == ParameterType.SECRET

    @property
    def value_set(self) -> bool:
        return bool(self.encrypted_value) if self.is_secret else self.value is not None

    def set_value(self, value) -> None:
        """Store a value of this parameter's type (None clears it); ValueError on a type mismatch."""
        if value is None:
            self.value, self.encrypted_value = None, ""
        elif self.is_secret:
            self.value, self.encrypted_value = None, crypto.encrypt(coerce_value(self.type, value))
        else:
            self.value, self.encrypted_value = coerce_value(self.type, value), ""

    def plain_value(self):
        """The usable value (decrypted for secrets), or None when unset."""
        if self.is_secret:
            return crypto.decrypt(self.encrypted_value) if self.encrypted_value else None
        return self.value


class Credential(models.Model):
    """How to reach a database or service: non-secret `config` plus encrypted secrets."""

    class Kind(models.TextChoices):
        POSTGRES = "postgres"
        MYSQL = "mysql"
        SQLITE = "sqlite"
        HTTP = "http"
        GENERIC = "generic"

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=100, validators=[name_validator])
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.TextField(blank=True, default="")
    config = models.JSONField(default=dict, blank=True)
    # Secret name -> Fernet token. The names are not secret (the API lists
    # them as `secrets_set`); the values are never stored in plain text.
    encrypted_secrets = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["context", "name"]
        constraints = [
            models.UniqueConstraint(fields=["context", "name"], name="unique_credential_per_context")
        ]

    def __str__(self):
        return f"{self.context.name}.{self.name}"

    def audit_snapshot(self) -> dict:
        """What an audit row keeps: never a secret, nor its ciphertext."""
        return {
            "context": self.context.name,
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "config": self.config,
            "secrets_set": self.secrets_set,
        }

    @property
    def secrets_set(self) -> list[str]:
        return sorted(self.encrypted_secrets)

    def update_secrets(self, changes: dict) -> None:
        """Apply `{name: value}`: a text value replaces that secret, None removes it,
        and secrets not named are kept."""
        secrets = dict(self.encrypted_secrets)
        for name, value in changes.items():
            if value is None:
                secrets.pop(name, None)
            else:
                secrets[name] = crypto.encrypt(value)
        self.encrypted_secrets = secrets

    def plain_secrets(self) -> dict[str, str]:
        return {name: crypto.decrypt(token) for name, token in self.encrypted_secrets.items()}

    def connection_dict(self) -> dict:
        """The engine's connection dict, secrets included: never log or store it.

        A sqlite file is looked up under the data roots (EngineError if outside)."""
        connection = build_connection_dict(self.kind, self.config, self.plain_secrets())
        if self.kind == Credential.Kind.SQLITE:
            connection["database"] = str(
                resolve_path(
                    connection["database"] or "",
                    settings.ETL_DATA_ROOTS,
                    component=f"credential {self.name}",
                    field="config.database",
                    must_exist=True,
                )
            )
        return connection


DEFAULT_PORTS = {Credential.Kind.POSTGRES: 5432, Credential.Kind.MYSQL: 3306}


def build_connection_dict(kind: str, config: dict, secrets: dict) -> dict:
    """`{"kind", "host", "port", "database", "user", "password", "options"}` plus any
    other config and secret fields (http and generic credentials have their own)."""
    connection = {**config, **secrets}
    connection.update(
        kind=kind,
        host=config.get("host"),
        port=config.get("port") or DEFAULT_PORTS.get(kind),
        database=config.get("database"),
        user=config.get("user"),
        password=secrets.get("password"),
        options=dict(config.get("options") or {}),
    )
    return connection
