#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    if sys.argv[1:2] == ["migrate"]:
        # Migrations change the schema: they connect as the owner of the tables (DATABASE_OWNER_URL).
        os.environ.setdefault("HELPLINE_DB_ROLE", "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
