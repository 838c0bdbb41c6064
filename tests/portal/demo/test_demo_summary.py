"""`make run`'s summary: where the portal is, where staff sign in, the demo accounts; and the
e-mails of the run go to files, not the terminal."""

import io
import re
from pathlib import Path

from django.core.management import call_command

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def test_the_demo_summary_says_where_to_go(settings):
    settings.DEBUG = True
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8080"
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    assert "Portal:       http://127.0.0.1:8080/" in text
    assert "staff in the back office at http://127.0.0.1:8080/admin/" in text
    assert "nurse@demo.district.example" in text


def test_make_run_writes_mail_to_files_and_keeps_the_worker_quiet():
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") :].split("\n\n")[0]
    assert "EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend" in makefile
    assert re.search(r"celery -A portal --quiet worker .*--loglevel=warning", run)
