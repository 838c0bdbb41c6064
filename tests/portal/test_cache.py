import socket

from django.urls import reverse

import pytest

from portal.cache import ResilientRedisCache


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_away(settings, closed_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.fixture
def redis_away_with_fallback(settings, closed_port, db):
    """Redis unreachable, with the production settings' fallback to a table in the database."""
    from django.core.management import call_command

    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            "FALLBACK": "database",
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_test",
        },
    }
    call_command("createcachetable", "--database", "default")


def test_calls_redis_cannot_answer_go_to_the_fallback(redis_away_with_fallback):
    from django.core.cache import cache, caches

    assert cache.add("k", 1) is True and cache.add("k", 2) is False
    assert cache.get("k") == 1
    assert cache.incr("k") == 2
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert caches["database"].get("a") == 1  # kept in the database table
    cache.delete("k")
    assert cache.get("k", "gone") == "gone"


def test_sign_in_limits_hold_while_redis_is_away(
    client, resident, password, settings, redis_away_with_fallback
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/5m/key"}
    for _attempt in range(3):
        response = client.post(
            reverse("account_login"), {"login": resident.email, "password": "wrong password"}
        )
        assert response.status_code == 200
    # The right password now is refused too: the failures were counted in the database.
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}
    )
    assert response.status_code != 302
    assert client.get("/me/").status_code == 302  # not signed in


def test_a_failing_fallback_degrades_like_no_fallback(settings, closed_port, db, caplog):
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
            "FALLBACK": "database",
        },
        # No table was created for this one.
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_missing",
        },
    }
    assert cache.get("k", "fallback") == "fallback"
    assert cache.add("k", 1) is True
    assert "Fallback cache failed" in caplog.text
    # The test's own transaction is still usable after the failed fallback.
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.count() >= 0


def test_every_call_degrades_when_redis_is_away(closed_port, caplog):
    cache = ResilientRedisCache(
        f"redis://127.0.0.1:{closed_port}/0", {"OPTIONS": {"socket_connect_timeout": 0.5}}
    )
    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is True
    assert cache.incr("k") is None
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1}) == ["a"]
    assert cache.delete("k") is False
    assert "Cache unavailable" in caplog.text


@pytest.mark.django_db
def test_sign_in_still_works_while_redis_restarts(client, resident, password, redis_away):
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}
    )
    assert response.status_code == 302
    assert client.get("/me/").status_code == 200


@pytest.mark.redis
def test_the_real_redis_answers_normally(settings):
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("no REDIS_URL: the embedded profile has no Redis")
    cache = ResilientRedisCache(url, {})
    cache.set("resilient-probe", "ok", 5)
    assert cache.get("resilient-probe") == "ok"
