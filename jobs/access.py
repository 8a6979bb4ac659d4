"""Which jobs and job links a request may see, and who may change a job.

A run the system starts by itself (a schedule, a dependency) has no person
whose grants to check, so it may use a context only if nobody who can change
the job is kept out of that context (`job_may_use_context`).
"""

from accounts.access import sees_everything, visible_among, visible_wherever
from contexts.access import may_use_context, usable_contexts
from contexts.models import Context
from contexts.resolution import RunInputError, choose_context
from jobs.models import Job


def visible_jobs(request, queryset=None):
    return visible_among(request, Job.objects.all() if queryset is None else queryset)


def sees_every_job(request) -> bool:
    return sees_everything(request)


def hidden_job_names(request) -> frozenset[str]:
    """Names of the jobs the caller may not see, to leave out of an answer that
    lists jobs by name (nothing is hidden from someone who sees every job)."""
    if sees_every_job(request):
        return frozenset()
    hidden = Job.objects.exclude(pk__in=visible_jobs(request).values("pk"))
    return frozenset(hidden.values_list("name", flat=True))


def visible_links(request, links):
    """The dependency links among `links` whose upstream and downstream jobs the caller may both see."""
    jobs = visible_jobs(request).values("pk")
    return links.filter(upstream__in=jobs, downstream__in=jobs)


def may_change_job(user, job: Job) -> bool:
    """Only someone who may use a job's default context may change (or delete) the
    job: otherwise they could rewrite what its scheduled runs do with that
    context's credentials and parameters."""
    return may_use_context(user, job.default_context)


def may_edit_job(user, job: Job) -> bool:
    """Editing a job as the API allows it (and so previewing it and restoring its versions)."""
    return user.has_perm("jobs.change_job") and may_change_job(user, job)


def job_may_use_context(job: Job, context: Context | None) -> bool:
    """Whether a run the system starts for `job` (schedule, dependency) may use `context`.

    Yes for an open context, and for the job's own default context (only people
    who may use it can set it or change the job, see may_change_job). Else only
    if the job is restricted to groups that all may see the context, so that
    nobody who can change the job is kept out of the context.
    """
    return context is None or context.pk == job.default_context_id or visible_wherever(context, job)


def check_person_may_use_context(job: Job, context_name: str | None, user) -> None:
    """What a person reads data through (a run they start, a preview) must be a
    context they may use: the one named, else the job's; a hidden name answers
    exactly like one that does not exist. RunInputError naming `context`."""
    if context_name:
        usable = usable_contexts(user)
        if not usable.filter(name=context_name).exists():
            # The same words as contexts.resolution.choose_context, listing only what the user may see.
            known = ", ".join(usable.order_by("name").values_list("name", flat=True)) or "none yet"
            raise RunInputError({"context": [f"No context named {context_name!r}; known: {known}."]})
    elif not may_use_context(user, choose_context(job, None)):
        raise RunInputError(
            {
                "context": [
                    f"Job {job.name!r} runs by default in a context you may not use; "
                    'name one you may use in "context".'
                ]
            }
        )
