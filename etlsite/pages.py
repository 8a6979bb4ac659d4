"""What every page module shares: pages need a signed-in user (anyone signed
in may read, as in the API), and controlling runs needs
`execution.control_execution` (the operator role). Which objects a page may
show is each app's access module (jobs/access.py, contexts/access.py)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

CONTROL_PERMISSION = "execution.control_execution"


def page(view):
    """A page for signed-in users."""
    return login_required(view)


def can_control(user) -> bool:
    return user.has_perm(CONTROL_PERMISSION)


def require_control(user) -> None:
    if not can_control(user):
        raise PermissionDenied("Starting and controlling runs needs the operator role.")
