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

Where an answer would name other jobs (a context's jobs, a job's dependencies,
the jobs that block a delete), it names only those the caller may see; when a
hidden job is the reason for a refusal, it is counted, not named (`name_jobs`).
"""

from typing import NamedTuple

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


class JobNames(NamedTuple):
    """Jobs as a refusal may name them: the visible ones by name, the others counted."""

    visible: list[str]
    hidden: int

    def __str__(self) -> str:
        """`a, b and 2 other jobs you cannot see`."""
        named = ", ".join(self.visible)
        if not self.hidden:
            return named
        counted = (
            f"{self.hidden} {'other ' if named else ''}job{'' if self.hidden == 1 else 's'} you cannot see"
        )
        return f"{named} and {counted}" if named else counted

    def details(self, key: str = "jobs") -> dict:
        """For an error body: `{key: [names]}`, and `"hidden_jobs": n` when some are hidden."""
        return {key: self.visible, **({"hidden_jobs": self.hidden} if self.hidden else {})}


def name_jobs(request, jobs) -> JobNames:
    """`jobs` (a queryset) as the caller may be told about them. A refusal caused by
    jobs the caller may not see still says so, without their names: the conflict
    itself cannot be hidden, since the request is refused."""
    jobs = jobs.distinct()
    names = sorted(visible_jobs(request, jobs).values_list("name", flat=True))
    return JobNames(names, jobs.count() - len(names))


def name_taken(kind: str) -> str:
    """The one answer for a name already in use: names are unique across all jobs
    (or contexts), so a hidden one's name is taken too, and the answer must not
    tell whether the caller may see its holder."""
    return (
        f"A {kind} with this name already exists. Names are unique across all {kind}s, "
        "including any you may not see: choose another name."
    )


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
    return context is None or context.pk == job.default_context_id or visible_wherever(context, job)


def visible_wherever(thing: Job | Context, job: Job) -> bool:
    """Whether everyone who may see `job` may also see `thing` (a job or a context):
    `thing` is open, or `job` is restricted to groups that all may see it."""
    thing_groups = set(thing.allowed_groups.values_list("pk", flat=True))
    if not thing_groups:
        return True
    job_groups = set(job.allowed_groups.values_list("pk", flat=True))
    return bool(job_groups) and job_groups <= thing_groups
