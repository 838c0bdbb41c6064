"""Sign-in limits per IP count the client's address behind the proxy, and only behind it
(issue 10 §3): one attacker must not lock everyone out, and a client must not pick its own
address by sending X-Forwarded-For where no proxy is trusted."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import RequestFactory
from django.urls import reverse

import pytest

from portal.accounts.client_ip import client_ip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the TLS proxy: every request connects from here
ATTACKER = "203.0.113.66"
RESIDENT = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def sign_in(client, email, password, forwarded_for=None):
    headers = {"REMOTE_ADDR": PROXY}
    if forwarded_for:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    client.cookies["portal_language"] = "en"
    return client.post(reverse("account_login"), {"login": email, "password": password}, **headers)


def test_an_attacker_behind_the_proxy_does_not_lock_out_others(client, behind_proxy, password):
    # Ten failed sign-ins a minute from one address, each at another account (so the
    # per-account limit is not what stops them).
    for n in range(12):
        sign_in(client, f"victim{n}@example.org", "wrong-password", ATTACKER)
    resident = UserFactory()
    response = sign_in(client, resident.email, password, f"{RESIDENT}")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.session["_auth_user_id"] == str(resident.pk)

    # ... while the attacker's own address is held back.
    client.logout()
    other = UserFactory()
    response = sign_in(client, other.email, password, ATTACKER)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


def test_the_proxy_header_is_ignored_without_a_trusted_proxy(client, settings, password):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    # Rotating a made-up X-Forwarded-For does not escape the per-IP limit.
    for n in range(12):
        sign_in(client, f"victim{n}@example.org", "wrong-password", f"192.0.2.{n}")
    resident = UserFactory()
    response = sign_in(client, resident.email, password, "192.0.2.200")
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


def test_the_per_account_limit_is_unchanged_behind_the_proxy(client, behind_proxy, password):
    resident = UserFactory()
    for n in range(5):
        sign_in(client, resident.email, "wrong-password", f"192.0.2.{n}")
    response = sign_in(client, resident.email, password, "192.0.2.99")
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


@pytest.mark.parametrize(
    "forwarded, expected",
    [
        ("198.51.100.7", "198.51.100.7"),
        ("1.1.1.1, 198.51.100.7", "198.51.100.7"),  # a client's own header, then the proxy's
        ("198.51.100.7:51234", "198.51.100.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("not-an-address", PROXY),  # malformed: the connecting address, never an error
        ("", PROXY),
        (",,,", PROXY),
    ],
)
def test_client_address_from_the_forwarded_header(settings, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_two_proxies_and_a_short_header_fall_back_to_the_connecting_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client_ip(request) == PROXY  # allauth's own reading raises ImproperlyConfigured
    request = RequestFactory().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.9"
    )
    assert client_ip(request) == "198.51.100.7"


def test_a_named_client_header_wins(settings):
    settings.TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_REAL_IP=RESIDENT, HTTP_X_FORWARDED_FOR=ATTACKER
    )
    assert client_ip(request) == RESIDENT


ROOT = Path(__file__).resolve().parents[3]


def proxy_settings(**env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.ALLAUTH_TRUSTED_PROXY_COUNT)"
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "BEHIND_TLS_PROXY", "TRUSTED_PROXY_COUNT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_settings_trust_the_proxy_only_when_told(tmp_path):
    production = {
        "DATABASE_URL": "postgres://portal:secret@127.0.0.1:5432/portal",
        "SECRET_KEY": "x" * 60,
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    assert proxy_settings(**production) == ["1", "1"]  # production runs behind the proxy
    assert proxy_settings(**production, BEHIND_TLS_PROXY="false") == ["0", "0"]
    assert proxy_settings(**production, TRUSTED_PROXY_COUNT="2") == ["2", "2"]
    assert proxy_settings(DEBUG="true", PORTAL_VAR_DIR=str(tmp_path)) == ["0", "0"]
