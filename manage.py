#!/usr/bin/env python3
"""Django's command-line utility for Paydesk.

Works from any shell in the checkout: `./manage.py …` or `python3 manage.py …` run under the
checkout's virtualenv (`.venv`, made by `make run` or `make install`) even when it is not
activated, and find the embedded database as the server does (config.settings).
"""

import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv"


def _in_venv() -> None:
    """Re-run this command with the virtualenv's Python unless it is the one running (without
    a `.venv`, the caller's own environment is used)."""
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(python, [str(python), __file__, *sys.argv[1:]])  # noqa: S606


def main() -> None:
    _in_venv()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        from django.core.management import execute_from_command_line
    except ModuleNotFoundError:
        sys.exit("Paydesk is not installed here yet: run 'make run' (or 'make install') first.")

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
