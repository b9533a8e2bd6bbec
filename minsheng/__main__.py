"""The ``minsheng`` console script: Django's manage.py plus the project's own commands.

Interfaces use hyphenated command names (``minsheng demo-data``, ``minsheng load-org``); Django
command modules cannot contain hyphens, so they are mapped to underscores here.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "minsheng"
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
