#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import gc
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")
    # Django's setup and the apps' imports make ~150,000 objects the cyclic
    # garbage collector tracks, nearly all living as long as the process.
    # With Python's default threshold (a collection every 700 new objects)
    # it rescans them hundreds of times while they are made: ~0.07 s of every
    # command (docs/performance.md, "Startup and the transform job").
    # Every 10,000 is still often enough for what commands do afterwards.
    gc.set_threshold(10_000, 10, 10)
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
