"""Links in messages use the address the portal is served on (issue 9: PORT=8080 make run)."""

import os
import subprocess
import sys
from pathlib import Path

from django.core import mail

import pytest

from portal.notifications.delivery import deliver_message
from tests.factories import UserFactory

from .factories import set_profile
from .kinds import note

ROOT = Path(__file__).resolve().parents[3]


def settings_in_fresh_interpreter(tmp_path, **env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PORTAL_BASE_URL, s.WAGTAILADMIN_BASE_URL)"
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORT", "PORTAL_BASE_URL", "DATABASE_URL", "REDIS_URL", "DEBUG"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_VAR_DIR": str(tmp_path),
             **env},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_default_base_url_follows_the_port_served_on(tmp_path):
    assert settings_in_fresh_interpreter(tmp_path) == ["http://127.0.0.1:8000"] * 2
    assert settings_in_fresh_interpreter(tmp_path, PORT="8080") == ["http://127.0.0.1:8080"] * 2


def test_portal_base_url_wins_in_production(tmp_path):
    urls = settings_in_fresh_interpreter(
        tmp_path, PORT="8080", PORTAL_BASE_URL="https://portal.district.example/"
    )
    assert urls == ["https://portal.district.example"] * 2


@pytest.mark.django_db
def test_email_and_sms_links_use_the_base_url(settings, sms_outbox):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8080"
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567")
    message = note(user, url="/clinics/appointments/12/")
    deliver_message(message.pk)
    body = mail.outbox[0].body
    assert "http://127.0.0.1:8080/clinics/appointments/12/" in body
    assert f"http://127.0.0.1:8080/inbox/{message.pk}/" in body
    assert "http://127.0.0.1:8080/inbox/settings/" in body
    assert ":8000" not in body
    assert "http://127.0.0.1:8080/clinics/appointments/12/" in sms_outbox[0]["text"]
