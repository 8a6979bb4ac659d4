"""HTML pages for executions: the history (filters, pagination) and one run
(progress, counters, throughput chart, component timeline, log tail, errors,
rejects, state timeline) with its controls.

Live updates come from static/etlsite/live.js polling the JSON API (and the
throughput chart's fragment, `execution_throughput`); these views render the
state at load time. Controls call the same services as
the API (`execution.control`) and are audited.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import audit
from contexts.crypto import CredentialKeyError
from contexts.resolution import RunInputError
from etlsite.errors import Conflict
from etlsite.pages import can_control, page, require_control
from execution import charts, stats
from execution.control import restart_execution
from execution.lifecycle import request_action
from execution.models import Action, Execution, State, Trigger
from jobs.access import visible_jobs

HISTORY_PAGE_SIZE = 25
LOG_TAIL_LINES = 200
RESTART = "restart"
CONTROL_ACTIONS = (Action.PAUSE, Action.RESUME, Action.STOP, RESTART)


def visible_executions(request):
    return Execution.objects.filter(job__in=visible_jobs(request))


# --- history ----------------------------------------------------------------------------


class HistoryFilterForm(forms.Form):
    job = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(required=False, choices=[("", "any state")] + State.choices)
    trigger = forms.ChoiceField(required=False, choices=[("", "any trigger")] + Trigger.choices)
    since = forms.DateField(
        required=False, label="Queued from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Queued until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, jobs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].choices = [("", "any job")] + [(job.pk, job.name) for job in jobs]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "Pick a day on or after “Queued from”.")
        return cleaned

    def apply(self, executions):
        data = self.cleaned_data
        if data.get("job"):
            executions = executions.filter(job_id=data["job"])
        if data.get("state"):
            executions = executions.filter(state=data["state"])
        if data.get("trigger"):
            executions = executions.filter(trigger=data["trigger"])
        if data.get("since"):
            executions = executions.filter(queued_at__date__gte=data["since"])
        if data.get("until"):
            executions = executions.filter(queued_at__date__lte=data["until"])
        return executions


@page
def execution_list(request):
    jobs = visible_jobs(request).only("id", "name").order_by("name")
    form = HistoryFilterForm(request.GET or None, jobs=jobs)
    executions = visible_executions(request).select_related("job", "started_by").order_by("-id")
    status = 200
    if form.is_bound:
        if form.is_valid():
            executions = form.apply(executions)
        else:
            executions, status = executions.none(), 400
    executions_page = Paginator(executions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "section": "executions",
        "form": form,
        "page": executions_page,
        "query": query.urlencode(),
        "filtered": bool(query),
    }
    return render(request, "execution/execution_list.html", context, status=status)


# --- one execution ----------------------------------------------------------------------


def _find(request, execution_id) -> Execution:
    executions = visible_executions(request).select_related("job", "started_by", "parent")
    return get_object_or_404(executions, pk=execution_id)


@page
def execution_detail(request, execution_id):
    return _render_execution(request, _find(request, execution_id))


def _render_execution(request, execution: Execution, status: int = 200):
    logs = list(execution.logs.order_by("-id")[:LOG_TAIL_LINES])[::-1]
    rejects = [
        {
            "rejects": item,
            "columns": list(item.sample[0]) if item.sample else [],
            "download": reverse(
                "job-execution-rejects",
                kwargs={
                    "job_id": execution.job_id,
                    "execution_id": execution.pk,
                    "component": item.component,
                },
            ),
        }
        for item in execution.rejects.all()
    ]
    metrics = stats.metrics_of(execution)
    progress = stats.progress_of(execution)
    context = {
        "section": "executions",
        "execution": execution,
        "progress": progress,
        "metrics": metrics,
        **throughput_context(metrics),
        "component_timeline": None
        if execution.is_active
        else charts.component_timeline(execution.counters, metrics["duration_seconds"]),
        "logs": logs,
        "last_log_id": logs[-1].pk if logs else 0,
        "logs_cut": len(logs) == LOG_TAIL_LINES,
        "errors": execution.errors.all(),
        "rejects": rejects,
        "events": execution.events.all(),
        "children": execution.children.order_by("id"),
        "can_control": can_control(request.user),
    }
    return render(request, "execution/execution_detail.html", context, status=status)


def throughput_context(metrics: dict) -> dict:
    points = metrics["throughput"]
    return {"throughput": points, "throughput_chart": charts.throughput_chart(points)}


@page
def execution_throughput(request, execution_id):
    """The throughput chart and its table alone: live.js swaps it in while the run goes on."""
    execution = _find(request, execution_id)
    context = {"execution": execution, **throughput_context(stats.metrics_of(execution))}
    return render(request, "execution/includes/throughput.html", context)


@require_POST
@page
def execution_control(request, execution_id, action):
    execution = _find(request, execution_id)
    require_control(request.user)
    before = {"state": execution.state}
    try:
        if action == RESTART:
            result = restart_execution(
                execution.job, request.user, execution_id=execution.pk, trigger=Trigger.UI
            )
        else:
            result = request_action(execution.job, action, request.user, execution_id=execution.pk)
    except Conflict as error:
        messages.error(request, str(error.detail))
        return _render_execution(request, _find(request, execution_id), status=409)
    except (RunInputError, CredentialKeyError) as error:
        messages.error(request, f"Cannot restart: {error}")
        return _render_execution(request, execution, status=400)
    audit.record(
        request,
        action,
        result,
        before=before,
        # The same shapes as the API's audit events for these actions.
        after={"restarts": execution.pk, "context": result.context_name}
        if action == RESTART
        else {"state": result.state},
    )
    done = {
        Action.PAUSE: "will pause at the next batch",
        Action.RESUME: "resumes",
        Action.STOP: "will stop at the next batch",
        RESTART: f"restarts #{execution.pk}",
    }[action]
    messages.success(request, f"Execution #{result.pk} {done}.")
    return redirect("page-execution", execution_id=result.pk)
