"""The inbox in the reader's language, e-mail in the recipient's, and the settings page."""

from django.conf import settings
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

import pytest
from bs4 import BeautifulSoup

from portal.notifications.delivery import deliver_message
from portal.notifications.models import KindPreference
from portal.notifications.services import notify
from tests.factories import UserFactory

from .factories import set_profile

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/inbox/settings/"


def required(language):
    with translation.override(language):
        return gettext("This field is required.")


def test_the_inbox_follows_the_readers_language_not_the_senders(client):
    user = UserFactory()
    set_profile(user, preferred_language="zh-hant")
    message = notify("tests.update", user, {"state": "A-17"})
    client.force_login(user)

    for language in ("en", "zh-hans", "zh-hant"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        inbox = client.get("/inbox/").text
        detail = client.get(f"/inbox/{message.pk}/").text
        panel = client.get("/me/").text
        for page in (inbox, detail, panel):
            assert required(language) in page
        others = {required(code) for code in ("en", "zh-hans", "zh-hant")} - {required(language)}
        assert not any(text in inbox for text in others)


def test_email_goes_out_in_the_language_preferred_when_it_is_sent():
    user = UserFactory()
    set_profile(user, preferred_language="zh-hant")
    message = notify("tests.update", user, {"state": "A-17"})
    set_profile(user, preferred_language="en")  # changed before the worker got to it

    assert deliver_message(message.pk) == 1
    email = mail.outbox[0]
    assert email.subject == required("en")
    html, _mimetype = email.alternatives[0]
    assert '<html lang="en">' in html


def test_the_email_footer_links_to_the_notification_settings():
    user = UserFactory()
    message = notify("tests.update", user, {"state": "A-17"})
    deliver_message(message.pk)
    assert f"https://portal.example{SETTINGS_URL}" in mail.outbox[0].body


@pytest.fixture
def settings_client(client):
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567")
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.user = user
    return client


def checkbox_names(page):
    soup = BeautifulSoup(page, "html.parser")
    return {(box["name"], box["value"]) for box in soup.select("input[type=checkbox]")}


def test_the_settings_page_lists_optional_kinds_to_choose_and_mandatory_ones_as_always(
    settings_client,
):
    response = settings_client.get(SETTINGS_URL)
    assert response.status_code == 200
    names = checkbox_names(response.text)
    assert ("kind_tests__note", "sms") in names
    assert ("kind_tests__inbox_only", "inbox") in names
    assert ("kind_tests__inbox_only", "email") not in names  # the kind has no e-mail
    assert not any(name == "kind_tests__receipt" for name, _value in names)
    soup = BeautifulSoup(response.text, "html.parser")
    always = soup.select_one("dl.summary-list").get_text(" ", strip=True)
    assert "A receipt" in always
    # Booking's kinds are registered by booking itself and show up here with no change.
    assert "Reminder the day before an appointment" in response.text
    assert "Appointment booked" in always


def as_shown(page):
    """The settings form's checkbox values as the page shows them, by field name."""
    form = {}
    for box in BeautifulSoup(page, "html.parser").select("input[type=checkbox][name^=kind_]"):
        values = form.setdefault(box["name"], [])
        if box.has_attr("checked"):
            values.append(box["value"])
    return form


def test_choices_are_saved_and_followed(settings_client):
    user = settings_client.user
    # What a browser sends: every box as the page shows it (every kind's default), with the
    # two changes the resident made. Kinds other apps register stay at their defaults.
    form = as_shown(settings_client.get(SETTINGS_URL).text)
    form["kind_tests__note"] = ["inbox", "sms"]
    form["kind_tests__inbox_only"] = []  # off
    response = settings_client.post(SETTINGS_URL, form)
    assert response.status_code == 302
    rows = {p.kind: p.channels for p in KindPreference.objects.filter(user=user)}
    assert rows == {"tests.note": {"inbox", "sms"}, "tests.inbox_only": set()}
    assert notify("tests.inbox_only", user, {"subject": "s", "body": "b"}) is None
    message = notify("tests.note", user, {"subject": "s", "body": "b"})
    assert set(message.deliveries.values_list("channel", flat=True)) == {"sms"}

    page = settings_client.get(SETTINGS_URL).text
    assert "Your choices have been saved." in page
    names = BeautifulSoup(page, "html.parser").select("input[name=kind_tests__note][checked]")
    assert {box["value"] for box in names} == {"inbox", "sms"}


def test_email_or_sms_keep_the_inbox(settings_client):
    settings_client.post(SETTINGS_URL, {"kind_tests__note": ["email"]})
    assert KindPreference.objects.get(kind="tests.note").channels == {"inbox", "email"}


def test_a_tampered_form_changes_nothing_it_may_not(settings_client):
    response = settings_client.post(
        SETTINGS_URL,
        {
            "kind_tests__receipt": [],  # mandatory: not on the form
            "kind_booking__booked": [],
            "kind_tests__nope": ["inbox"],
            "kind_tests__note": ["inbox", "fax"],
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "fax is not one of the available choices" in response.text
    assert not KindPreference.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post(SETTINGS_URL, {"kind_tests__note": []}).status_code == 302
    assert not KindPreference.objects.exists()
