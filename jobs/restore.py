"""Restoring a job to one of its versions, for the API and the job's pages: the
version's definition is saved through the job serializer (the same checks and
grants as any save), audited, and kept as a new version."""

from accounts.audit import record, snapshot
from jobs.access import hidden_job_names
from jobs.models import Job, JobVersion
from jobs.serializers import JobSerializer
from jobs.versions import definition_for, record_version


def restore_version(job: Job, version: JobVersion, request) -> JobVersion:
    """The new version; raises serializers.ValidationError (naming the field) when the
    old definition no longer saves, e.g. its default context was deleted."""
    job = Job.objects.with_graph().get(pk=job.pk)
    before = snapshot(job)
    serializer = JobSerializer(
        job, data=definition_for(version, hidden_job_names(request)), context={"request": request}
    )
    serializer.is_valid(raise_exception=True)
    job = serializer.save()
    record(request, "restore", job, before=before, after={"version": version.number, **snapshot(job)})
    return record_version(
        job, user=request.user, via=JobVersion.Via.RESTORE, note=f"restored version {version.number}"
    )
