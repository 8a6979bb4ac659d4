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


def database_options(**env) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; print(s.DATABASES['default'].get('OPTIONS'))",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "etlsite.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_prepares_statements_unless_turned_off():
    url = "postgres://etl@db.invalid:5432/etl"
    assert database_options(DATABASE_URL=url) == "{'server_side_binding': True, 'prepare_threshold': 5}"
    assert database_options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false") == "None"
    # What DATABASE_URL says wins (a string "false" is not True for Django: client-side binding).
    assert database_options(DATABASE_URL=url + "?server_side_binding=false&prepare_threshold=2") == (
        "{'server_side_binding': 'false', 'prepare_threshold': 2}"
    )
