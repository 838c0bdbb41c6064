import pytest

from portal.notifications import attachments, kinds, sms

from .kinds import ALL as TEST_KINDS
from .kinds import TEMPLATE_DIR


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    # The PostgreSQL profile runs with DEBUG off, which redirects plain-HTTP test requests.
    settings.SECURE_SSL_REDIRECT = False
    settings.SMS_BACKEND = "portal.notifications.sms.LocmemSMSBackend"
    settings.PORTAL_BASE_URL = "https://portal.example"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_LEASE_SECONDS = 5 * 60
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def test_kinds(settings):
    """The kinds in tests/portal/notifications/kinds.py, registered for one test."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEMPLATE_DIR]}
    ]
    for kind in TEST_KINDS:
        kinds.register(kind)
    yield TEST_KINDS
    for kind in TEST_KINDS:
        kinds.unregister(kind.name)


@pytest.fixture
def sms_outbox():
    return sms.outbox


@pytest.fixture
def upper_maker():
    """An attachment maker for one test: the value in capitals; `calls` lists what it made."""
    calls = []

    def make(value):
        calls.append(value)
        return value.upper().encode()

    attachments.register_maker("tests.upper", make)
    yield calls
    attachments.unregister_maker("tests.upper")
