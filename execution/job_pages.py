"""HTML pages for running jobs: the job list (with each job's last run), one
job's page (definition, graph picture, schedule, recent runs, start form) and
starting a run from it. They live with the runs they show and start; the job
definitions are the jobs app's."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import audit
from contexts.access import usable_contexts, visible_contexts
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from etlsite.pages import can_control, page, require_control
from execution import charts, stats
from execution.control import RunRequest, start_execution
from execution.incremental.backfill import create_backfill
from execution.incremental.panel import BackfillForm, incremental_panel
from execution.incremental.state_changes import state_body
from execution.models import ACTIVE_STATES, FINISHED_STATES, Execution, IncrementalState, Trigger
from execution.scheduling import next_occurrence
from jobs.access import may_edit_job, visible_jobs, visible_links
from jobs.graph_picture import graph_picture, kind_of
from jobs.models import Job, JobDependency

RECENT_RUNS = 10
HISTORY_ROWS = 20
TREND_RUNS = 50
STATE_CSS = {"succeeded": "ok", "failed": "failed", "stopped": "stopped"}


# --- the job list -------------------------------------------------------------------


@page
def job_list(request):
    query = request.GET.get("q", "").strip()
    latest = Execution.objects.filter(job=OuterRef("pk")).order_by("-id")
    jobs = visible_jobs(request).annotate(
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
    job = get_object_or_404(visible_jobs(request).select_related("default_context"), pk=job_id)
    return _render_job(request, job, _start_form(request, job))


def _start_form(request, job: Job):
    if not can_control(request.user):
        return None
    return StartForm(job=job, contexts=visible_contexts(request).order_by("name"))


def _render_job(request, job: Job, start_form, status: int = 200, backfill_form=None):
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
        "can_preview": may_edit_job(request.user, job),
        "versions": job.versions.order_by("-number")[:HISTORY_ROWS],
        **incremental_panel(request, job, backfill_form),
        **run_trend(job),
    }
    return render(request, "jobs/job_detail.html", context, status=status)


def run_trend(job: Job) -> dict:
    """Duration and rows read of the last TREND_RUNS finished runs, oldest first."""
    finished = (
        job.executions.filter(state__in=FINISHED_STATES, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-id")
        .values("id", "state", "started_at", "finished_at", "rows_read")[:TREND_RUNS]
    )
    runs = []
    for run in reversed(finished):
        seconds = round((run["finished_at"] - run["started_at"]).total_seconds(), 3)
        title = (
            f"#{run['id']} {run['state']}: {charts.human_duration(seconds)}, {run['rows_read']:,} rows read"
        )
        runs.append({**run, "duration_seconds": seconds, "title": title})
    if not runs:
        return {"trend": [], "duration_chart": None, "rows_chart": None}

    def label(run):
        return f"#{run['id']}"

    return {
        "trend": runs,
        "duration_chart": charts.bars(
            runs,
            "duration_seconds",
            f"Duration of the last {len(runs)} finished runs",
            ticks=charts.duration_ticks,
            y_label=charts.tick_duration,
            css_of=lambda run: STATE_CSS[run["state"]],
            label_of=label,
        ),
        "rows_chart": charts.bars(
            runs, "rows_read", f"Rows read by the last {len(runs)} finished runs", label_of=label
        ),
    }


def _settings(config: dict) -> list[tuple[str, str]]:
    """A component's config as (key, text) pairs; lists and objects as JSON, as they are written."""
    return [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in config.items()]


@require_POST
@page
def job_start(request, job_id):
    job = get_object_or_404(visible_jobs(request).select_related("default_context"), pk=job_id)
    require_control(request.user)
    form = StartForm(request.POST, job=job, contexts=visible_contexts(request).order_by("name"))
    if not form.is_valid():
        return _render_job(request, job, form, status=400)
    try:
        execution, _ = start_execution(
            job,
            RunRequest(
                context_name=form.cleaned_data["context"] or None,
                overrides=form.cleaned_data["parameters"],
                trigger=Trigger.UI,
                user=request.user,
            ),
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
    # Tagged so the execution page's live.js takes it away once the run started.
    messages.success(request, f"Execution #{execution.pk} of {job.name} is queued.", extra_tags="run-queued")
    return redirect("page-execution", execution_id=execution.pk)


# --- incremental state and backfills (execution/incremental/panel.py) ----------------


@require_POST
@page
def job_state_reset(request, job_id):
    job = get_object_or_404(visible_jobs(request).select_related("default_context"), pk=job_id)
    if not may_edit_job(request.user, job):
        raise PermissionDenied("Resetting a job's state needs the right to edit the job.")
    context_name = job.default_context.name if job.default_context else ""
    if job.executions.filter(context_name=context_name, state__in=ACTIVE_STATES).exists():
        messages.error(request, "A run of this job is active; stop it or wait before resetting its state.")
        return redirect("page-job", job_id=job.pk)
    before = state_body(job, context_name)
    with transaction.atomic():
        IncrementalState.objects.filter(job=job, context_name=context_name).delete()
        audit.record(request, "reset_state", job, before=before, after=state_body(job, context_name))
    messages.success(request, "State reset: the next run reads everything again.")
    return redirect("page-job", job_id=job.pk)


@require_POST
@page
def job_backfill(request, job_id):
    job = get_object_or_404(visible_jobs(request).select_related("default_context"), pk=job_id)
    require_control(request.user)
    form = BackfillForm(request.POST)
    if not form.is_valid():
        return _render_job(request, job, _start_form(request, job), backfill_form=form, status=400)
    data = dict(form.cleaned_data)
    if data["context"] and not usable_contexts(request.user).filter(name=data["context"]).exists():
        form.add_error("context", f"No context named {data['context']!r}.")
        return _render_job(request, job, _start_form(request, job), backfill_form=form, status=400)
    try:
        backfill = create_backfill(job, request.user, data)
    except (RunInputError, CredentialKeyError) as error:
        details = error.details if isinstance(error, RunInputError) else {"context": [str(error)]}
        for key, problems in details.items():
            field = key if key in form.fields else None
            form.add_error(field, [problem if field else f"{key}: {problem}" for problem in problems])
        return _render_job(request, job, _start_form(request, job), backfill_form=form, status=400)
    except Conflict as error:
        form.add_error(None, str(error.detail))
        return _render_job(request, job, _start_form(request, job), backfill_form=form, status=409)
    audit.record(
        request, "backfill", backfill, after={"job": job.name, "start": data["start"], "end": data["end"]}
    )
    messages.success(
        request, f"Backfill {backfill.pk} of {job.name} started ({backfill.intervals.count()} intervals)."
    )
    return redirect("page-job", job_id=job.pk)
