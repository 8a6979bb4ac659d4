"""HTML pages for jobs: the list, one job's page (definition, graph picture,
schedule, recent runs, start form) and starting a run from it.

Also the rules every page module shares: pages need a signed-in user, a job
restricted to some groups is invisible (404) to everyone else, as in the API,
and controlling runs needs `execution.control_execution` (the operator role).
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework import serializers

from accounts import audit
from accounts.access import (
    hidden_job_names,
    may_change_job,
    restrict_to_groups,
    visible_contexts,
    visible_links,
)
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from execution import stats
from execution.control import start_execution
from execution.engine.errors import GraphError
from execution.engine.graph import split_input, topological_order
from execution.engine.registry import UnknownComponentType, get_spec
from execution.models import ACTIVE_STATES, Execution, Trigger
from execution.scheduling import next_occurrence
from jobs.documents import to_yaml
from jobs.models import Job, JobDependency
from jobs.restore import restore_version
from jobs.versions import definition_for, side_by_side

CONTROL_PERMISSION = "execution.control_execution"
RECENT_RUNS = 10
HISTORY_ROWS = 20


def page(view):
    """A page for signed-in users; anyone signed in may read, as in the API."""
    return login_required(view)


def visible_jobs(user):
    return restrict_to_groups(Job.objects.all(), user)


def can_control(user) -> bool:
    return user.has_perm(CONTROL_PERMISSION)


def may_edit(user, job: Job) -> bool:
    """Editing (and previewing, restoring) a job, as the API allows it."""
    return user.has_perm("jobs.change_job") and may_change_job(user, job)


def require_control(user) -> None:
    if not can_control(user):
        raise PermissionDenied("Starting and controlling runs needs the operator role.")


# --- the job list -------------------------------------------------------------------


@page
def job_list(request):
    query = request.GET.get("q", "").strip()
    latest = Execution.objects.filter(job=OuterRef("pk")).order_by("-id")
    jobs = visible_jobs(request.user).annotate(
        component_count=Count("components", distinct=True),
        last_execution_id=Subquery(latest.values("id")[:1]),
        last_state=Subquery(latest.values("state")[:1]),
        last_queued_at=Subquery(latest.values("queued_at")[:1]),
    )
    if query:
        jobs = jobs.filter(name__icontains=query) | jobs.filter(description__icontains=query)
    rows = [{"job": job, "schedule": schedule_of(job)} for job in jobs.order_by("name")]
    return render(
        request,
        "jobs/job_list.html",
        {"section": "jobs", "rows": rows, "query": query, "can_add": _can_add_jobs(request.user)},
    )


def _can_add_jobs(user) -> bool:
    return user.is_staff and user.has_perm("jobs.add_job")


def schedule_of(job: Job) -> dict:
    """The cron schedule, its time zone and the next run time (None when off)."""
    config = job.effective_config
    cron, enabled = config.get("schedule"), config.get("enabled", True)
    next_run = None
    if cron and enabled:
        next_run = next_occurrence(cron, config.get("timezone") or "UTC", timezone.now())
    return {"cron": cron, "timezone": config.get("timezone"), "enabled": enabled, "next_run": next_run}


# --- one job ------------------------------------------------------------------------


class StartForm(forms.Form):
    context = forms.ChoiceField(
        required=False, help_text="Where the run takes its parameters and credentials."
    )
    parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "min_delay=30"}),
        help_text="Parameter overrides for this run: one name=value per line.",
    )

    def __init__(self, *args, job: Job, contexts, **kwargs):
        super().__init__(*args, **kwargs)
        default = job.default_context.name if job.default_context else "the default context"
        self.fields["context"].choices = [("", f"job default ({default})")] + [
            (context.name, context.name) for context in contexts
        ]

    def clean_parameters(self) -> dict:
        overrides = {}
        for number, line in enumerate(self.cleaned_data["parameters"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            name, equals, value = line.partition("=")
            if not equals or not name.strip():
                raise ValidationError(f"Line {number}: write name=value, for example min_delay=30.")
            overrides[name.strip()] = value.strip()
        return overrides

    def add_run_errors(self, details: dict) -> None:
        """Put the start service's `field -> messages` next to the matching field."""
        for key, problems in details.items():
            field = key.split(".", 1)[0]
            if field in ("context", "parameters"):
                detail = key.split(".", 1)[1] + ": " if "." in key else ""
                self.add_error(field, [f"{detail}{problem}" for problem in problems])
            else:
                self.add_error(None, [f"{key}: {problem}" for problem in problems])


@page
def job_detail(request, job_id):
    job = get_object_or_404(visible_jobs(request.user).select_related("default_context"), pk=job_id)
    form = (
        StartForm(job=job, contexts=visible_contexts(request).order_by("name"))
        if can_control(request.user)
        else None
    )
    return _render_job(request, job, form)


def _render_job(request, job: Job, start_form, status: int = 200):
    components = job.component_dicts()
    executions = job.executions.select_related("started_by")
    links = visible_links(request, JobDependency.objects.select_related("upstream", "downstream"))
    context = {
        "section": "jobs",
        "job": job,
        "components": [
            {**c, "kind": kind_of(c["type"]), "settings": _settings(c["config"])} for c in components
        ],
        "graph": graph_picture(components),
        "config": job.effective_config,
        "schedule": schedule_of(job),
        "health": stats.health_of(job),
        "upstream": links.filter(downstream=job),
        "downstream": links.filter(upstream=job),
        "recent": executions[:RECENT_RUNS],
        "active": executions.filter(state__in=ACTIVE_STATES),
        "can_control": can_control(request.user),
        "can_edit": request.user.is_staff and request.user.has_perm("jobs.change_job"),
        "start_form": start_form,
        "can_preview": may_edit(request.user, job),
        "versions": job.versions.order_by("-number")[:HISTORY_ROWS],
    }
    return render(request, "jobs/job_detail.html", context, status=status)


def _settings(config: dict) -> list[tuple[str, str]]:
    """A component's config as (key, text) pairs; lists and objects as JSON, as they are written."""
    return [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in config.items()]


@require_POST
@page
def job_start(request, job_id):
    job = get_object_or_404(visible_jobs(request.user).select_related("default_context"), pk=job_id)
    require_control(request.user)
    form = StartForm(request.POST, job=job, contexts=visible_contexts(request).order_by("name"))
    if not form.is_valid():
        return _render_job(request, job, form, status=400)
    try:
        execution, _ = start_execution(
            job,
            context_name=form.cleaned_data["context"] or None,
            overrides=form.cleaned_data["parameters"],
            trigger=Trigger.UI,
            user=request.user,
        )
    except RunInputError as error:
        form.add_run_errors(error.details)
        return _render_job(request, job, form, status=400)
    except CredentialKeyError as error:
        form.add_error("context", str(error))
        return _render_job(request, job, form, status=400)
    except Conflict as error:
        form.add_error(None, str(error.detail))
        return _render_job(request, job, form, status=409)
    audit.record(
        request,
        "start",
        execution,
        after={"job": job.name, "context": execution.context_name, "parameters": execution.parameters},
    )
    messages.success(request, f"Execution #{execution.pk} of {job.name} is queued.")
    return redirect("page-execution", execution_id=execution.pk)


# --- the component graph picture --------------------------------------------------------

NODE_WIDTH, NODE_HEIGHT = 168, 46
COLUMN_GAP, ROW_GAP, MARGIN = 56, 18, 6


def kind_of(type_name: str) -> str:
    try:
        return get_spec(type_name).kind
    except UnknownComponentType:
        return "unknown"


def graph_picture(components: list[dict]) -> dict:
    """Boxes and arrows for an SVG: each component one column right of its
    furthest input, in saved order within a column."""
    try:
        order = topological_order(components)
    except GraphError:
        order = [c["name"] for c in components]
    by_name = {c["name"]: c for c in components}
    column = {}
    for name in order:
        upstream = [split_input(ref)[0] for ref in by_name[name].get("inputs") or []]
        column[name] = 1 + max((column[up] for up in upstream if up in column), default=-1)
    rows_used: dict[int, int] = {}
    nodes = {}
    for component in components:
        name = component["name"]
        row = rows_used.get(column[name], 0)
        rows_used[column[name]] = row + 1
        nodes[name] = {
            "name": name,
            "label": name if len(name) <= 20 else name[:19] + "…",
            "type": component["type"],
            "kind": kind_of(component["type"]),
            "x": MARGIN + column[name] * (NODE_WIDTH + COLUMN_GAP),
            "y": MARGIN + row * (NODE_HEIGHT + ROW_GAP),
        }
    edges = []
    for component in components:
        target = nodes[component["name"]]
        for reference in component.get("inputs") or []:
            upstream, port = split_input(reference)
            if upstream not in nodes:
                continue
            edges.append(_edge(nodes[upstream], target, port))
    columns = max(column.values(), default=-1) + 1
    rows = max(rows_used.values(), default=0)
    return {
        "nodes": list(nodes.values()),
        "edges": edges,
        "width": 2 * MARGIN + columns * NODE_WIDTH + max(columns - 1, 0) * COLUMN_GAP,
        "height": 2 * MARGIN + rows * NODE_HEIGHT + max(rows - 1, 0) * ROW_GAP,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
    }


def _edge(source: dict, target: dict, port: str) -> dict:
    x1, y1 = source["x"] + NODE_WIDTH, source["y"] + NODE_HEIGHT / 2
    x2, y2 = target["x"] - 4, target["y"] + NODE_HEIGHT / 2
    middle = (x1 + x2) / 2
    return {
        "path": f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}",
        "port": port,
        "rejects": port != "main",
        "label_x": middle,
        "label_y": (y1 + y2) / 2 - 4,
        "title": f"{source['name']} → {target['name']}" + (f" ({port})" if port != "main" else ""),
    }


# --- a job's history ---------------------------------------------------------------------


@page
def job_version(request, job_id, number):
    """One version of a job: who saved it, its definition, a side-by-side diff
    against another version (`?against=N`, default the one before), and Restore."""
    job = get_object_or_404(visible_jobs(request.user), pk=job_id)
    version = get_object_or_404(job.versions, number=number)
    others = job.versions.exclude(pk=version.pk).order_by("-number")
    against = request.GET.get("against", "")
    older = others.filter(number=against).first() if against.isdigit() else None
    older = older or others.filter(number__lt=version.number).first()
    hidden = hidden_job_names(request)
    context = {
        "section": "jobs",
        "job": job,
        "version": version,
        "against": older,
        "others": others,
        "diff": side_by_side(older, version, hidden) if older else None,
        "document": to_yaml(definition_for(version, hidden)),
        "can_restore": may_edit(request.user, job)
        and version.number != job.versions.order_by("-number")[0].number,
    }
    return render(request, "jobs/job_version.html", context)


@page
def job_versions_compare(request, job_id):
    """The history's compare form: `?version=N&against=M` -> version N's page against M."""
    job = get_object_or_404(visible_jobs(request.user), pk=job_id)
    number = request.GET.get("version", "")
    if not number.isdigit() or not job.versions.filter(number=number).exists():
        raise Http404("No such version.")
    url = reverse("page-job-version", args=(job.pk, int(number)))
    against = request.GET.get("against", "")
    return redirect(f"{url}?against={int(against)}" if against.isdigit() else url)


@require_POST
@page
def job_version_restore(request, job_id, number):
    job = get_object_or_404(visible_jobs(request.user).select_related("default_context"), pk=job_id)
    if not may_edit(request.user, job):
        raise PermissionDenied("Restoring a version needs the permission to edit this job.")
    version = get_object_or_404(job.versions, number=number)
    try:
        restored = restore_version(job, version, request)
    except serializers.ValidationError as error:
        problems = "; ".join(f"{field}: {' '.join(map(str, texts))}" for field, texts in error.detail.items())
        messages.error(request, f"Version {version.number} cannot be restored: {problems}")
        return redirect("page-job-version", job_id=job.pk, number=version.number)
    messages.success(request, f"Restored version {version.number} as version {restored.number}.")
    return redirect(f"{reverse('page-job', args=(job.pk,))}#history")
