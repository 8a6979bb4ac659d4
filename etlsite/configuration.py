"""System settings that admins change at run time (GET/PUT /api/v1/setup/configuration).

Each setting is declared once here with its type, default and description;
the database (`SystemSetting`) holds only the values an admin changed.
Other apps read them with `get_setting(name)`:

    from etlsite.configuration import get_setting
    batch_size = get_setting("default_batch_size")

Values are cached per process for a few seconds, so a change reaches every
web and worker process within `CACHE_SECONDS` without a restart.
"""

import re
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from rest_framework import serializers

from etlsite.models import SystemSetting

CACHE_SECONDS = 5.0

# What DRF's throttles accept: "<count>/<second|minute|hour|day>".
RATE_PATTERN = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


class SettingError(ValueError):
    """A setting name or value was refused; `field` says which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SettingValidationError(ValueError):
    """Several settings refused at once: `errors` maps each name to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {messages[0]}" for name, messages in errors.items()))
        self.errors = errors


# A setting's JSON type: DRF's fields also convert text ("14", "yes") and take true for 1.
JSON_TYPES = {"integer": int, "boolean": bool, "rate": str}


@dataclass(frozen=True)
class SettingDefinition:
    name: str
    type: str  # "integer", "boolean" or "rate"
    default: object
    description: str
    minimum: int | None = None
    maximum: int | None = None

    def clean(self, value):
        """The value as stored, or SettingError saying what is expected."""
        field = self.field()
        try:
            if not isinstance(value, JSON_TYPES[self.type]) or isinstance(value, bool) != (
                self.type == "boolean"
            ):
                field.fail("invalid")
            return field.run_validation(value)
        except serializers.ValidationError as error:
            raise SettingError(self.name, str(error.detail[0])) from None

    def field(self) -> serializers.Field:
        if self.type == "integer":
            return serializers.IntegerField(
                min_value=self.minimum,
                max_value=self.maximum,
                error_messages={
                    "invalid": "Expected a whole number.",
                    "min_value": "Must be at least {min_value}.",
                    "max_value": "Must be at most {max_value}.",
                },
            )
        if self.type == "boolean":
            return serializers.BooleanField(error_messages={"invalid": "Expected true or false."})
        rate = "Expected a rate like '100/minute' (per second, minute, hour or day)."
        return serializers.RegexField(
            RATE_PATTERN, trim_whitespace=False, error_messages={"invalid": rate, "blank": rate}
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "description": self.description,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


def _throttle_default(scope: str) -> str:
    # The start-up value comes from settings (env THROTTLE_*); an admin's change overrides it.
    return getattr(settings, "ETL_THROTTLE_RATES", {}).get(scope, "60/minute")


@receiver(setting_changed)
def _forget_definitions(setting, **kwargs):
    if setting in ("ETL_DEFAULT_BATCH_SIZE", "ETL_THROTTLE_RATES"):  # the defaults come from them
        _definitions.cache_clear()


@cache  # every get_setting() reads them: build them once
def _definitions() -> dict[str, SettingDefinition]:
    declared = [
        SettingDefinition(
            "default_batch_size",
            "integer",
            settings.ETL_DEFAULT_BATCH_SIZE,
            "Rows per batch for jobs whose config sets no batch_size.",
            minimum=1,
            maximum=10_000_000,
        ),
        SettingDefinition(
            "log_retention_days",
            "integer",
            30,
            "Execution log lines older than this are deleted by the retention job.",
            minimum=1,
            maximum=3650,
        ),
        SettingDefinition(
            "execution_retention_days",
            "integer",
            90,
            "Finished executions (with their logs, errors and custom metrics) older than this are deleted.",
            minimum=1,
            maximum=3650,
        ),
        SettingDefinition(
            "throttle_rate_anon",
            "rate",
            _throttle_default("anon"),
            "Request rate allowed per anonymous client IP.",
        ),
        SettingDefinition(
            "throttle_rate_user",
            "rate",
            _throttle_default("user"),
            "Request rate allowed per authenticated user.",
        ),
        SettingDefinition(
            "throttle_rate_api_key",
            "rate",
            _throttle_default("api_key"),
            "Request rate allowed per API key.",
        ),
        SettingDefinition(
            "throttle_rate_login",
            "rate",
            _throttle_default("login"),
            "Attempts allowed per client IP on the token and login endpoints.",
        ),
        SettingDefinition(
            "maintenance_mode",
            "boolean",
            False,
            "Reported by /health and /info; schedules keep running.",
        ),
    ]
    return {definition.name: definition for definition in declared}


def definitions() -> dict[str, SettingDefinition]:
    return _definitions()


def get_definition(name: str) -> SettingDefinition:
    try:
        return _definitions()[name]
    except KeyError:
        raise SettingError(
            name, f"Unknown setting {name!r}; known: {', '.join(sorted(_definitions()))}."
        ) from None


class _ProcessCache:
    """The stored values, reread from the database at most every CACHE_SECONDS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict | None = None
        self._loaded_at = 0.0

    def values(self) -> dict:
        with self._lock:
            if self._values is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
                self._values = dict(SystemSetting.objects.values_list("name", "value"))
                self._loaded_at = time.monotonic()
            return self._values

    def clear(self) -> None:
        with self._lock:
            self._values = None


_cache = _ProcessCache()


def get_setting(name: str):
    """The current value of a declared setting (the default unless an admin changed it)."""
    definition = get_definition(name)
    stored = _cache.values()
    return stored.get(name, definition.default)


def clear_cache() -> None:
    _cache.clear()


def current_settings() -> list[dict]:
    """Every setting with its value and whether it is still the default."""
    stored = {row.name: row for row in SystemSetting.objects.select_related("updated_by")}
    rows = []
    for name, definition in _definitions().items():
        row = stored.get(name)
        rows.append(
            {
                **definition.as_dict(),
                "value": row.value if row else definition.default,
                "is_default": row is None,
                "updated_at": row.updated_at if row else None,
                "updated_by": row.updated_by.get_username() if row and row.updated_by else None,
            }
        )
    return rows


def validate_changes(changes) -> dict:
    """Check a `{name: value}` mapping (None resets to the default); all errors at once."""
    if not isinstance(changes, dict) or not changes:
        raise SettingError(
            "settings", 'Send an object of setting names to values, e.g. {"log_retention_days": 14}.'
        )
    cleaned, errors = {}, {}
    for name, value in changes.items():
        try:
            definition = get_definition(name)
            cleaned[name] = None if value is None else definition.clean(value)
        except SettingError as error:
            errors[error.field] = [error.message]
    if errors:
        raise SettingValidationError(errors)
    return cleaned


@transaction.atomic
def apply_changes(cleaned: dict, user=None) -> dict:
    """Store validated changes; returns `{name: {"old": ..., "new": ...}}` for what changed."""
    changed = {}
    for name, value in cleaned.items():
        definition = get_definition(name)
        row = SystemSetting.objects.select_for_update().filter(name=name).first()
        old = row.value if row else definition.default
        if value is None:
            if row:
                row.delete()
        elif row:
            row.value, row.updated_by = value, user
            row.save(update_fields=["value", "updated_by", "updated_at"])
        else:
            SystemSetting.objects.create(name=name, value=value, updated_by=user)
        new = definition.default if value is None else value
        if old != new:
            changed[name] = {"old": old, "new": new}
    # Now for this thread (it sees its own writes), and again once others can see them.
    clear_cache()
    transaction.on_commit(clear_cache)
    return changed
