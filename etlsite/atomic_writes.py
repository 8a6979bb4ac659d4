"""Each request that may change something runs in one transaction: API
writes and the signed-in users' page forms (start, stop, restart...).

A view saves an object, then writes its AuditEvent; if anything fails in
between (the audit snapshot, a later save), the error answer must not leave
the change behind without its audit row. DRF turns every exception into a
response, so the transaction rolls back when the answer is a server error.
A 4xx is a refusal decided before any change, and some 4xx write an audit
event of their own (a bad token) that must stay.

Left alone, because on SQLite a transaction takes the database's single
write lock at BEGIN and holds it to the end:
- reads (every GET would wait for the lock) and POSTs that save nothing
  (a view's `read_only_actions`, such as validate);
- requests without credentials (no Authorization header, no session, not
  signed in): the only change they may make is logging in, whose password
  check is slow, and refusing them must not cost the lock;
- actions a view lists in `non_atomic_actions`: they wait on the outside
  world (a credential test connecting to a database that may not answer)
  and must not hold the lock meanwhile; their one write is the audit event.
"""

from django.conf import settings
from django.db import transaction
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView


class AtomicWritesMiddleware:
    """Last in MIDDLEWARE: it calls the view itself, inside the transaction."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _may_change_something(request, view_func):
            return None
        with transaction.atomic():
            response = view_func(request, *view_args, **view_kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response


def _may_change_something(request, view_func) -> bool:
    if request.method in SAFE_METHODS:
        return False
    view_class = getattr(view_func, "cls", None)
    if view_class is None or not issubclass(view_class, APIView):
        # A page form; the admin runs its own changes in transactions too.
        return request.user.is_authenticated
    if not (request.META.get("HTTP_AUTHORIZATION") or settings.SESSION_COOKIE_NAME in request.COOKIES):
        return False
    action = getattr(view_func, "actions", {}).get(request.method.lower())
    skipped = (*getattr(view_class, "read_only_actions", ()), *getattr(view_class, "non_atomic_actions", ()))
    return action not in skipped
