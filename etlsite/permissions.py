"""The API's default permission: who may call what.

1. The user must be authenticated (views opt out with `permission_classes = [AllowAny]`).
2. A scoped credential (API key, OAuth2 token) must carry the scope the request
   needs: `read` for safe methods, `write` for other writes, unless the view
   says otherwise (`action_scopes[action]` on viewsets, `required_scope` on
   plain views: `execute` for execution control). Actions listed in a view's
   `read_only_actions` (POSTs that save nothing, like validate) count as reads.
   Admin-only views need `admin`, which implies all.
3. Admin-only views (`admin_only = True`) need a superuser or the `admin` role.
4. A Django permission: the view's `action_permissions[action]` or
   `required_permission` if declared (checked for every method), else for
   writes the model permission (`add_`/`change_`/`delete_`), except on
   `owner_scoped` views, which only touch the caller's own rows.
"""

from rest_framework import permissions

ADMIN_ROLE = "admin"
SCOPE_READ, SCOPE_WRITE, SCOPE_EXECUTE, SCOPE_ADMIN = "read", "write", "execute", "admin"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated) and (
        user.is_superuser or user.groups.filter(name=ADMIN_ROLE).exists()
    )


def is_read_only(request, view) -> bool:
    """A safe method, or a POST the view declares changes nothing (validate, infer)."""
    return request.method in permissions.SAFE_METHODS or getattr(view, "action", None) in getattr(
        view, "read_only_actions", ()
    )


def required_scope(request, view) -> str:
    if getattr(view, "admin_only", False):
        return SCOPE_ADMIN
    declared = getattr(view, "action_scopes", {}).get(getattr(view, "action", None))
    if declared:
        return declared
    if getattr(view, "required_scope", None):
        return view.required_scope
    return SCOPE_READ if is_read_only(request, view) else SCOPE_WRITE


def credential_scopes(request) -> list[str] | None:
    """The scopes of a scoped credential, or None for full-user credentials
    (session, token, JWT)."""
    auth = request.auth
    if auth is None:
        return None
    scopes = getattr(auth, "scopes", None)
    if isinstance(scopes, list):  # API key
        return scopes
    scope = getattr(auth, "scope", None)
    if isinstance(scope, str):  # OAuth2 access token: space-separated
        return scope.split()
    return None


class ApiPermission(permissions.DjangoModelPermissions):
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        scope = required_scope(request, view)
        granted = credential_scopes(request)
        if granted is not None and scope not in granted and SCOPE_ADMIN not in granted:
            self.message = f"This credential lacks the '{scope}' scope."
            return False
        if getattr(view, "admin_only", False):
            return is_admin(user)
        declared = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        declared = declared or getattr(view, "required_permission", None)
        if declared:
            return user.has_perm(declared)
        if is_read_only(request, view) or getattr(view, "owner_scoped", False):
            # Owner-scoped views (your own API keys) only ever touch the caller's rows.
            return True
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return super().has_permission(request, view)
