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
