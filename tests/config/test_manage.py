"""`./manage.py` and `python3 manage.py` work from a shell that has not activated `.venv`."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.subprocesses import child_env

ROOT = Path(__file__).resolve().parents[2]
# The interpreter the virtualenv was made from: no Django there, as in a fresh shell.
OUTSIDE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")

pytestmark = pytest.mark.django_db


def _shell_env() -> dict[str, str]:
    env = child_env()
    env.pop("VIRTUAL_ENV", None)
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin
    )
    return env


@pytest.mark.parametrize(
    "command",
    [["./manage.py"], [OUTSIDE_PYTHON, "manage.py"]],
    ids=["executable", "python3"],
)
def test_manage_py_runs_under_the_checkouts_virtualenv(command):
    result = subprocess.run(
        [*command, "showmigrations", "payments"],
        cwd=ROOT,
        env=_shell_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "0001_initial" in result.stdout


def test_without_a_virtualenv_it_says_how_to_install(tmp_path):
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")

    result = subprocess.run(
        [OUTSIDE_PYTHON, "-I", "manage.py", "check"],
        cwd=tmp_path,
        env=_shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "run 'make run' (or 'make install') first" in result.stderr
