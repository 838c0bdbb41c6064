import os

import pytest

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytest_plugins = ["tests.browser", "tests.redis_server"]


def pytest_configure(config):
    # In CI the suite must run on the production engines; fail loudly rather than fall back.
    if os.environ.get("CI") == "true" and os.environ.get("PORTAL_TEST_PROFILE") != "embedded":
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(f"CI=true needs {', '.join(missing)} (PostgreSQL and Redis)")


def pytest_collection_modifyitems(items):
    """Every test with real transactions starts from the migrated data.

    A transactional test ends with a flush; with serialized_rollback the next one reloads the
    migrated rows (site, home page, groups, content types) first. Without it, a test after a
    flushed one would start from an empty database, content types included.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and "serialized_rollback" not in marker.kwargs
        ):
            item.add_marker(
                pytest.mark.django_db(*marker.args, **marker.kwargs, serialized_rollback=True),
                append=False,
            )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Make serialized_rollback work for every test that asks for it.

    Tests that need real transactions (browser tests against the live server, concurrency
    tests) flush the database afterwards; `serialized_rollback=True` loads the migrated data
    (home page, site, staff groups) again before them. Django keeps that snapshot on the
    connection object, but while Playwright runs its event loop in the test thread Django
    hands out a different connection object, which would have no snapshot and silently restore
    nothing. Keeping the snapshot on the connection class makes it visible to both.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            snapshot = getattr(connection, "_test_serialized_contents", None)
            if snapshot is None:
                snapshot = connection.creation.serialize_db_to_string()
            type(connection)._test_serialized_contents = snapshot


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    from django.core.cache import cache

    from portal.redis_breaker import reset_all as reset_redis_breakers

    reset_redis_breakers()  # a Redis one test froze is not skipped by the next
    cache.clear()  # rate-limit counters and cached fragments must not leak between tests
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def celery_eager():
    """Run published tasks in-process, as a worker would, instead of leaving them in a broker.

    Tests that need a real broker (the Redis outage test) turn this off themselves.
    """
    from portal.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield celery_app
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def resident(db):
    return UserFactory()


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client
