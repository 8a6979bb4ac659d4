"""System initialization: idempotent, safe to run at every start.

Used by `manage.py initialize` (and so `make run`) and POST /api/v1/setup/initialize.
Each step reports what it created, changed or found.
"""

import os
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from contexts.models import Context
from etlsite.permissions import ADMIN_ROLE
from execution.engine.graph import validate_components
from jobs.models import Job, JobVersion
from jobs.versions import record_version
from monitoring import demo_data, health
from monitoring.models import SystemState

DEMO_FOLDER = Path(__file__).resolve().parent / "demo"
DEMO_JOB_NAME = "demo_flights_by_carrier"
DEFAULT_CONTEXT_NAME = "default"
ROLES = ("viewer", "operator", "editor", ADMIN_ROLE)
ETL_APPS = ("jobs", "contexts", "schemas", "execution", "monitoring")
# What editors may change besides jobs and schemas: contexts but not their credentials.
EDITOR_CONTEXT_MODELS = ("context", "parameter")
# Operators run jobs, and may push custom metrics as jobs do.
OPERATOR_EXTRA = ("monitoring", "custommetric", "add")
# Editors decide who is told about which jobs; channels (a secret, an outbound URL) stay with admins.
EDITOR_MONITORING_MODELS = ("notificationrule",)

SCHEDULES = {
    "monitoring: sample host resources": {"func": "monitoring.tasks.sample_resources", "minutes": 1},
    "monitoring: delete logs and executions past retention": {
        "func": "monitoring.tasks.apply_retention",
        "minutes": 60,
    },
    "monitoring: notify slow runs and missed schedules": {
        "func": "monitoring.tasks.check_notifications",
        "minutes": 1,
    },
}


def ensure_admin_account(username: str = "admin") -> dict:
    """Create a superuser if there is none. The password is returned only on
    creation, so it is shown exactly once."""
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return {"admin": "found"}
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username, f"{username}@localhost", password)
    return {"admin": "created", "username": username, "password": password}


def role_permissions() -> dict[str, set[int]]:
    """Permission ids per role, after design.md's security model. Each role
    includes the one before it; admin holds every permission."""
    etl = Permission.objects.filter(content_type__app_label__in=ETL_APPS).select_related("content_type")
    viewer, operator, editor = set(), set(), set()
    for permission in etl:
        app, action = permission.content_type.app_label, permission.codename.split("_", 1)[0]
        model = permission.content_type.model
        if action == "view":
            viewer.add(permission.pk)
        elif (app == "execution" and action != "delete") or (app, model, action) == OPERATOR_EXTRA:
            # Starting and controlling runs; custom actions such as "control" count too.
            operator.add(permission.pk)
        elif (
            app in ("jobs", "schemas")
            or (app == "contexts" and model in EDITOR_CONTEXT_MODELS)
            or (app == "monitoring" and model in EDITOR_MONITORING_MODELS)
        ):
            editor.add(permission.pk)
    operator |= viewer
    editor |= operator
    return {
        "viewer": viewer,
        "operator": operator,
        "editor": editor,
        ADMIN_ROLE: set(Permission.objects.values_list("pk", flat=True)),
    }


def ensure_roles() -> dict:
    """The four role groups with at least their permissions (permissions an admin
    added by hand are kept)."""
    report = {}
    for role, wanted in role_permissions().items():
        group, created = Group.objects.get_or_create(name=role)
        missing = wanted - set(group.permissions.values_list("pk", flat=True))
        group.permissions.add(*missing)
        if created:
            report[role] = f"created with {len(wanted)} permissions"
        else:
            report[role] = f"found, {len(missing)} permissions added" if missing else "found"
    return report


def ensure_default_context() -> str:

    if Context.objects.filter(is_default=True).exists():
        return "found"
    context, created = Context.objects.get_or_create(
        name=DEFAULT_CONTEXT_NAME,
        defaults={"description": "Created by setup; jobs without a context use it."},
    )
    context.is_default = True
    context.save()
    return "created" if created else "found, marked default"


def copy_sample_data() -> dict:
    """Copy the bundled CSV into the first data root (never overwriting a user's file)."""
    root = Path(settings.ETL_DATA_ROOTS[0])
    target = root / "demo" / "flights.csv"
    (root / "demo" / "output").mkdir(parents=True, exist_ok=True)
    if target.exists():
        return {"path": str(target), "outcome": "found"}
    shutil.copyfile(DEMO_FOLDER / "flights.csv", target)
    return {"path": str(target), "outcome": "created"}


def demo_components() -> list[dict]:
    return [
        {"name": "flights", "type": "csv_source", "inputs": [], "config": {"path": "demo/flights.csv"}},
        {
            "name": "departed",
            "type": "filter",
            "inputs": ["flights"],
            "config": {"where": "dep_time IS NOT NULL"},
        },
        {
            "name": "by_carrier",
            "type": "aggregate",
            "inputs": ["departed"],
            "config": {
                "group_by": ["carrier"],
                "aggregates": {"flights": "count(*)", "avg_arr_delay": "avg(arr_delay)"},
            },
        },
        {
            "name": "report",
            "type": "csv_sink",
            "inputs": ["by_carrier"],
            "config": {"path": "demo/output/flights_by_carrier.csv", "mode": "replace"},
        },
    ]


def ensure_demo_job() -> str:
    if Job.objects.filter(name=DEMO_JOB_NAME).exists():
        return "found"
    components = demo_components()
    problems = validate_components(components)
    if problems:
        # The engine's catalogue changed under the demo: say so instead of saving a broken job.
        return "skipped: " + "; ".join(f"{p.component}: {p.message}" for p in problems)
    job = Job.objects.create(
        name=DEMO_JOB_NAME,
        description="Demo: departed flights per carrier, from the bundled sample CSV.",
        default_context=Context.objects.filter(is_default=True).first(),
    )
    job.replace_components(components)
    record_version(job, via=JobVersion.Via.SETUP)
    return "created"


def ensure_schedules() -> dict:

    report = {}
    for name, spec in SCHEDULES.items():
        _, created = Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": spec["func"],
                "schedule_type": Schedule.MINUTES,
                "minutes": spec["minutes"],
                "repeats": -1,
            },
        )
        report[name] = "created" if created else "found"
    return report


@transaction.atomic
def initialize_system(*, create_admin: bool = True, demo: bool = True) -> dict:
    report = {}
    if create_admin:
        report["admin"] = ensure_admin_account()
    report["roles"] = ensure_roles()
    report["default_context"] = ensure_default_context()
    if demo:
        report["sample_data"] = copy_sample_data()
        report["demo_job"] = ensure_demo_job()
        report["long_demo_job"] = demo_data.ensure_long_demo_job()
    report["schedules"] = ensure_schedules()
    state = SystemState.current()
    if state.initialized_at is None:
        state.initialized_at = timezone.now()
        state.save(update_fields=["initialized_at"])
    return report


def data_root_status() -> list[dict]:
    roots = []
    for root in settings.ETL_DATA_ROOTS:
        path = Path(root)
        roots.append(
            {
                "path": root,
                "exists": path.is_dir(),
                "writable": path.is_dir() and os.access(path, os.W_OK | os.X_OK),
            }
        )
    return roots


def setup_status() -> dict:
    """What GET /setup/status reports: is this installation ready to use?"""

    state = SystemState.current()
    pending = health.pending_migrations()
    roles = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
    clusters = health.worker_clusters()
    roots = data_root_status()
    return {
        "initialized": state.initialized_at is not None and roles == set(ROLES),
        "initialized_at": state.initialized_at,
        "configured_at": state.configured_at,
        "migrations": {"applied": not pending, "pending": pending},
        "roles": {role: role in roles for role in ROLES},
        "admin_exists": get_user_model().objects.filter(is_superuser=True, is_active=True).exists(),
        "worker_running": bool(clusters),
        "workers": sum(cluster["workers"] for cluster in clusters),
        "data_roots": roots,
        "data_roots_writable": bool(roots) and all(root["writable"] for root in roots),
    }
