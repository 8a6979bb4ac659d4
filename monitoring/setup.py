"""System initialization: idempotent, safe to run at every start.

Used by `manage.py initialize` (and so `make run`) and POST /api/v1/setup/initialize.
"""

import secrets

from django.contrib.auth import get_user_model


def ensure_admin_account(username: str = "admin") -> dict:
    """Create a superuser if there is none. The password is returned only on
    creation, so it is shown exactly once."""
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return {"admin": "found"}
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username, f"{username}@localhost", password)
    return {"admin": "created", "username": username, "password": password}


def initialize_system() -> dict:
    return {"admin": ensure_admin_account()}
