"""A Redis restart, or the switch back from the fallback cache, forgets no security record.

Issue 10 §5: a TOTP code used while Redis was down was accepted again a second after Redis
returned, and a sign-in lock-out set during the outage was lifted. Redis keeps nothing on disk
here (as in the probe), so a restart also empties it. Each test runs its own redis-server,
used as the production settings use it, and stops and starts it.
"""

import time

from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import validate_totp_code

from portal.accounts import roles
from tests.browser import current_totp_code
from tests.factories import StaffFactory, with_totp

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

SECRET = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def redis_cache(redis_server, settings):
    """The production cache settings, on the test's own Redis."""
    settings.SECURE_SSL_REDIRECT = False
    settings.REDIS_RETRY_SECONDS = 0  # use Redis again as soon as it answers
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            "FALLBACK": "database",
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_restart_test",
        },
    }
    call_command("createcachetable")
    return redis_server


def restart(server):
    server.stop()
    server.start()  # empty: nothing is kept on disk


def assert_redis_in_use(server):
    """Ordinary cache calls reach this Redis (so the switch back really happened)."""
    cache.set("probe", "here")
    assert server.client().get(":1:probe") is not None


def sign_in_with_password(client, user, password):
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")


def enter_code(client, code):
    return client.post(reverse("mfa_authenticate"), {"code": code})


def fresh_code():
    """The current code, with enough of its period left for the whole test."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 10:
        time.sleep(left + 0.1)
    return current_totp_code(SECRET)


@pytest.mark.parametrize("used", ["while Redis is down", "before Redis restarts"])
def test_a_used_totp_code_is_refused_after_redis_returns(redis_cache, password, used):
    staff = with_totp(StaffFactory(groups=[roles.CLINIC_STAFF]), SECRET)
    code = fresh_code()
    first, second = Client(), Client()

    if used == "while Redis is down":
        redis_cache.stop()
    sign_in_with_password(first, staff, password)
    response = enter_code(first, code)
    assert response.status_code == 302  # the code works once
    assert first.get("/admin/").status_code == 200
    if used == "while Redis is down":
        redis_cache.start()
    else:
        restart(redis_cache)
    assert_redis_in_use(redis_cache)

    # Someone who watched the code being typed tries it at once, in the same period.
    sign_in_with_password(second, staff, password)
    response = enter_code(second, code)
    assert validate_totp_code(SECRET, code)  # the code itself would still be valid...
    assert response.status_code == 200  # ...but it was used: the form is shown again
    assert second.get("/admin/").status_code == 302  # not signed in


@pytest.mark.parametrize("locked", ["while Redis is down", "before Redis restarts"])
def test_a_sign_in_lock_out_holds_after_redis_returns(
    redis_cache, client, resident, password, settings, locked
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/5m/key"}
    if locked == "while Redis is down":
        redis_cache.stop()
    for _attempt in range(3):
        response = client.post(
            reverse("account_login"), {"login": resident.email, "password": "wrong password"}
        )
        assert response.status_code == 200
    if locked == "while Redis is down":
        redis_cache.start()
    else:
        restart(redis_cache)
    assert_redis_in_use(redis_cache)

    # The right password is refused too while the lock-out lasts.
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}
    )
    assert response.status_code != 302
    assert client.get("/me/").status_code == 302  # not signed in


def test_security_records_go_to_the_database_and_the_rest_to_redis(redis_cache):
    from django.core.cache import caches

    redis = redis_cache.client()
    database = caches["database"]
    cache.set("allauth:rl:allauth.account:login_failed:5/300.0/key:abc", [1.0])
    assert cache.add("allauth.mfa.totp.used?user=1&code=123456", "y", 30) is True
    assert cache.add("allauth.mfa.totp.used?user=1&code=123456", "y", 30) is False
    cache.set("fragment", "html")
    assert redis.keys() == [b":1:fragment"]
    assert database.get("allauth.mfa.totp.used?user=1&code=123456") == "y"

    cache.set_many({"allauth:rl:a": [2.0], "other": 3})
    assert database.get("allauth:rl:a") == [2.0]
    assert redis.get(":1:other") is not None
    assert cache.get_many(["allauth:rl:a", "other", "fragment"]) == {
        "allauth:rl:a": [2.0],
        "other": 3,
        "fragment": "html",
    }
    cache.delete_many(["allauth:rl:a", "other"])
    assert cache.get_many(["allauth:rl:a", "other"]) == {}
    assert database.get("allauth:rl:a") is None
