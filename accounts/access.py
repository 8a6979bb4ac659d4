"""Object-level access: which jobs and contexts a request may see and use.

A job or context with `allowed_groups` is visible only to members of those
groups (and admins); one without is visible to every user. An API key that
lists jobs narrows that further to those jobs. Anything not visible answers
404, as if it did not exist; a hidden context named in a payload answers
exactly like a name that does not exist.

Seeing a context is also what it takes to use it: a person may run a job in a
context, make it a job's default, or change a job whose default it is, only if
they may see it (`may_use_context`, `may_change_job`). A run the system starts
by itself (a schedule, a dependency) has no person whose grants to check, so it
may use a context only if nobody who can change the job is kept out of that
context (`job_may_use_context`).
"""

from django.db.models import Q

from accounts.models import ApiKey
from contexts.models import Context
from etlsite.permissions import is_admin
from jobs.models import Job


def restrict_to_groups(queryset, user):
    if is_admin(user):
        return queryset
    return queryset.filter(
        Q(allowed_groups__isnull=True) | Q(allowed_groups__in=user.groups.all())
    ).distinct()


def _api_key_job_ids(request) -> list[int]:
    """The jobs an API key is limited to; empty when it is not (or no API key is in use)."""
    api_key = getattr(request, "auth", None)  # plain Django page requests have no .auth
    if isinstance(api_key, ApiKey):
        return list(api_key.jobs.values_list("pk", flat=True))
    return []


def visible_jobs(request, queryset=None):
    jobs = restrict_to_groups(Job.objects.all() if queryset is None else queryset, request.user)
    allowed = _api_key_job_ids(request)
    if allowed:
        jobs = jobs.filter(pk__in=allowed)
    return jobs


def sees_every_job(request) -> bool:
    """Nothing is hidden from an admin, unless their API key is limited to some jobs."""
    return is_admin(request.user) and not _api_key_job_ids(request)


def visible_contexts(request, queryset=None):
    return restrict_to_groups(Context.objects.all() if queryset is None else queryset, request.user)


def usable_contexts(user):
    """The contexts `user` may run jobs in and make a job's default: those they may see."""
    return restrict_to_groups(Context.objects.all(), user)


def may_use_context(user, context: Context | None) -> bool:
    """Running without a context needs no grant."""
    return context is None or usable_contexts(user).filter(pk=context.pk).exists()


def may_change_job(user, job: Job) -> bool:
    """Only someone who may use a job's default context may change (or delete) the
    job: otherwise they could rewrite what its scheduled runs do with that
    context's credentials and parameters."""
    return may_use_context(user, job.default_context)


def job_may_use_context(job: Job, context: Context | None) -> bool:
    """Whether a run the system starts for `job` (schedule, dependency) may use `context`.

    Yes for an open context, and for the job's own default context (only people
    who may use it can set it or change the job, see may_change_job). Else only
    if the job is restricted to groups that all may see the context, so that
    nobody who can change the job is kept out of the context.
    """
    if context is None or context.pk == job.default_context_id:
        return True
    context_groups = set(context.allowed_groups.values_list("pk", flat=True))
    if not context_groups:
        return True
    job_groups = set(job.allowed_groups.values_list("pk", flat=True))
    return bool(job_groups) and job_groups <= context_groups
