from rest_framework import permissions

ADMIN_GROUP = "admin"


def is_system_admin(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and (user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists())
    )


class IsSystemAdmin(permissions.BasePermission):
    """Setup routes: superusers and members of the `admin` role only."""

    message = "Only administrators (superusers or the 'admin' role) may use the setup routes."

    def has_permission(self, request, view):
        return is_system_admin(request.user)
