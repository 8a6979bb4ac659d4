import os
import subprocess
import sys

from django.conf import settings


def run_check(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_check(DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_sets_secure_cookies():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "DJANGO_SETTINGS_MODULE": "etlsite.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True"], result.stderr
