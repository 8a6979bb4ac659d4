"""A job's history as pages: a version with a side-by-side diff against another,
comparing any two, and restoring one (the job's page lists the versions)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework import serializers

from etlsite.pages import page
from jobs.access import hidden_job_names, may_edit_job, visible_jobs
from jobs.documents import to_yaml
from jobs.restore import restore_version
from jobs.versions import definition_for, side_by_side


@page
def job_version(request, job_id, number):
    """One version of a job: who saved it, its definition, a side-by-side diff
    against another version (`?against=N`, default the one before), and Restore."""
    job = get_object_or_404(visible_jobs(request), pk=job_id)
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
        "can_restore": may_edit_job(request.user, job)
        and version.number != job.versions.order_by("-number")[0].number,
    }
    return render(request, "jobs/job_version.html", context)


@page
def job_versions_compare(request, job_id):
    """The history's compare form: `?version=N&against=M` -> version N's page against M."""
    job = get_object_or_404(visible_jobs(request), pk=job_id)
    number = request.GET.get("version", "")
    if not number.isdigit() or not job.versions.filter(number=number).exists():
        raise Http404("No such version.")
    url = reverse("page-job-version", args=(job.pk, int(number)))
    against = request.GET.get("against", "")
    return redirect(f"{url}?against={int(against)}" if against.isdigit() else url)


@require_POST
@page
def job_version_restore(request, job_id, number):
    job = get_object_or_404(visible_jobs(request).select_related("default_context"), pk=job_id)
    if not may_edit_job(request.user, job):
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
