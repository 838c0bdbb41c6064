"""`make run` starts a Celery worker with beat beside the web server: its command line must be
one Celery accepts (a misplaced `--quiet` once made the worker exit at once, so nothing was
sent and no periodic task ran, while the web server looked fine)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_worker_command_of_make_run_is_one_celery_accepts():
    recipe = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    match = re.search(r"(\S*/celery -A portal .*?) &", recipe)
    assert match, recipe
    words = shlex.split(match.group(1))
    celery = [sys.executable, "-m", "celery", *words[1:]]
    checked = subprocess.run([*celery, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "--beat" in words
