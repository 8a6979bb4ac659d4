"""Object-level access: which jobs and contexts a request may see.

A job or context with `allowed_groups` is visible only to members of those
groups (and admins); one without is visible to every user. An API key that
lists jobs narrows that further to those jobs. Anything not visible answers
404, as if it did not exist.
"""

from django.db.models import Q

from accounts.models import ApiKey
from etlsite.permissions import is_admin


def restrict_to_groups(queryset, user):
    if is_admin(user):
        return queryset
    return queryset.filter(
        Q(allowed_groups__isnull=True) | Q(allowed_groups__in=user.groups.all())
    ).distinct()


def visible_jobs(request, queryset=None):
    from jobs.models import Job

    jobs = restrict_to_groups(Job.objects.all() if queryset is None else queryset, request.user)
    api_key = getattr(request, "auth", None)  # plain Django page requests have no .auth
    if isinstance(api_key, ApiKey):
        allowed = list(api_key.jobs.values_list("pk", flat=True))
        if allowed:
            jobs = jobs.filter(pk__in=allowed)
    return jobs


def visible_contexts(request, queryset=None):
    from contexts.models import Context

    return restrict_to_groups(Context.objects.all() if queryset is None else queryset, request.user)
