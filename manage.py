#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        if "--traceback" in sys.argv:
            raise
        # Settings refused the environment (config/settings.py says what to set): the
        # sentence is what an operator needs, not forty lines of import machinery.
        sys.stderr.write(f"Configuration error: {exc}\n(Run with --traceback for details.)\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
