#!/usr/bin/env python
"""Django's command-line utility. With DATABASE_URL/REDIS_URL unset it attaches to (or starts) the
embedded PostgreSQL and Redis under var/, the same ones ``make run`` uses."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings.dev")
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        execute(sys.argv)
        return
    from edc import embedded

    with embedded.services():
        execute(sys.argv)


def execute(argv):
    from django.core.management import execute_from_command_line

    if argv[1:2] in (["migrate"], ["backup"], ["restore"]):  # as the owner role (edc.dbroles)
        from edc.dbroles import owner_url_for_migrate

        owner_url_for_migrate(os.environ)
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
