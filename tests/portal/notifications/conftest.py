import pytest

from portal.notifications import sms


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    # The PostgreSQL profile runs with DEBUG off, which redirects plain-HTTP test requests.
    settings.SECURE_SSL_REDIRECT = False
    settings.SMS_BACKEND = "portal.notifications.sms.LocmemSMSBackend"
    settings.PORTAL_BASE_URL = "https://portal.example"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = 15 * 60
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def sms_outbox():
    return sms.outbox
