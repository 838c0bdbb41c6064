import os

import pytest
from hypothesis import settings as hypothesis_settings

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytest_plugins = ["tests.browser", "tests.redis_server"]

# Property and fuzz tests (hypothesis) explore new examples on every developer's run, so new
# defects turn up where someone can fix them; in CI (CI=true) they replay one fixed sequence,
# Hypothesis' own advice, so a submission is judged on the code and not on a lucky draw.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


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
def django_db_setup(django_db_setup, django_db_blocker, request):
    """Make serialized_rollback work for every test that asks for it.

    Tests that need real transactions (browser tests against the live server, concurrency
    tests) flush the database afterwards; `serialized_rollback=True` loads the migrated data
    (home page, site, staff groups) again before them. Django keeps that snapshot on the
    connection object, but while Playwright runs its event loop in the test thread Django
    hands out a different connection object, which would have no snapshot and silently restore
    nothing. Keeping the snapshot on the connection class makes it visible to both.

    A database kept for the next run (--reuse-db) is left as migrated: a flush by the last
    transactional test is undone at the end of the session. One left empty by a run that was
    killed is refused with what to do, rather than failing every page test with a 404.
    """
    from django.db import connections

    from wagtail.models import Site

    reuse = request.config.getvalue("reuse_db") and not request.config.getvalue("create_db")
    with django_db_blocker.unblock():
        if reuse and not Site.objects.exists():
            pytest.exit(
                "The kept test database has no migrated data (a run was interrupted after a "
                "flush). Run once without REUSE_DB=1 / --reuse-db to build it afresh.",
                returncode=4,
            )
        for connection in connections.all():
            snapshot = getattr(connection, "_test_serialized_contents", None)
            if snapshot is None:
                snapshot = connection.creation.serialize_db_to_string()
            type(connection)._test_serialized_contents = snapshot
    yield
    if reuse:
        with django_db_blocker.unblock():
            if not Site.objects.exists():
                for connection in connections.all():
                    connection.creation.deserialize_db_from_string(
                        type(connection)._test_serialized_contents
                    )


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _forget_records_kept_in_the_database(request, settings):
    """Sign-in rate limits and used TOTP codes live in the database cache table (portal/cache.py),
    which a transactional test's flush does not empty: empty it, so they do not leak between
    tests as they would not in Redis (cleared below)."""
    if "database" not in settings.CACHES:
        return
    marker = request.node.get_closest_marker("django_db")
    used = DB_FIXTURES & set(request.fixturenames)
    if not (marker or used):
        return
    transactional = (marker and marker.kwargs.get("transaction")) or (used - {"db"})
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.core.cache import caches

    caches["database"].clear()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    from django.core.cache import cache, caches

    from portal.redis_breaker import reset_all as reset_redis_breakers

    reset_redis_breakers()  # a Redis one test froze is not skipped by the next
    from portal.notifications.services import forget_delivery_nudges

    forget_delivery_nudges()  # a nudge published to one test's broker is not the next one's
    cache.clear()  # rate-limit counters and cached fragments must not leak between tests
    if "pages" in settings.CACHES:
        caches["pages"].clear()  # nor public pages cached by one test (cms/page_cache.py)
    from cms.page_cache import forget_local

    forget_local()
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
def back_to_latest():
    """For a test that migrates backwards: every app forward to its latest migration after it.
    Going back to an old migration of one app also unapplies the later migrations of the apps
    that depend on it (cms, records, ...), and the tests after would find their tables gone."""
    yield
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


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
