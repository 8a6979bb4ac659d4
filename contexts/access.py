"""Which contexts a request may see, and so use.

Seeing a context is what it takes to use it: a person may run a job in a
context, make it a job's default, or change a job whose default it is, only if
they may see it. Group grants work as for jobs (accounts/access.py).
"""

from accounts.access import restrict_to_groups
from contexts.models import Context


def visible_contexts(request, queryset=None):
    return restrict_to_groups(Context.objects.all() if queryset is None else queryset, request.user)


def usable_contexts(user):
    """The contexts `user` may run jobs in and make a job's default: those they may see."""
    return restrict_to_groups(Context.objects.all(), user)


def may_use_context(user, context: Context | None) -> bool:
    """Running without a context needs no grant."""
    return context is None or usable_contexts(user).filter(pk=context.pk).exists()
