"""notify(): what it records, for whom, on which channels, in which language."""

from django.core import mail
from django.db import transaction
from django.template import Context, Template
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

import pytest

from portal.notifications.models import Delivery, Message, MessageAttachment
from portal.notifications.services import Attachment, notify, recipient_language
from tests.factories import UserFactory

from .factories import set_profile

pytestmark = pytest.mark.django_db

# Strings from Django's own catalogue, translated differently in each portal language.
REQUIRED = "This field is required."
INVALID_EMAIL = "Enter a valid email address."


def translated(text, language):
    with translation.override(language):
        return gettext(text)


def channels_of(message):
    return set(message.deliveries.values_list("channel", flat=True))


def test_rollback_leaves_nothing_and_sends_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(
            user,
            "Your appointment is booked",
            "See you on Monday.",
            attachments=[Attachment("visit.ics", "BEGIN:VCALENDAR", "text/calendar")],
        )
        raise RuntimeError("the booking failed after the notification was recorded")
    assert callbacks == []
    assert not Message.objects.exists()
    assert not Delivery.objects.exists()
    assert not MessageAttachment.objects.exists()
    assert mail.outbox == []


def test_nothing_is_queued_before_commit(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(user, "Subject", "Body")
    assert len(callbacks) == 1
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_default_channels_follow_the_profile():
    email_only = UserFactory()  # profile defaults: e-mail on, SMS off
    both = UserFactory()
    set_profile(both, notify_sms=True, phone="+85291234567")
    inbox_only = UserFactory()
    set_profile(inbox_only, notify_email=False)

    assert channels_of(notify(email_only, "s", "b")) == {"email"}
    assert channels_of(notify(both, "s", "b")) == {"email", "sms"}
    assert channels_of(notify(inbox_only, "s", "b")) == set()
    # The inbox always has the message.
    assert Message.objects.filter(user=inbox_only).count() == 1


def test_a_channel_without_an_address_is_skipped():
    no_phone = UserFactory()
    set_profile(no_phone, notify_sms=True, phone="")
    no_email = UserFactory(email="")

    assert channels_of(notify(no_phone, "s", "b")) == {"email"}
    assert channels_of(notify(no_email, "s", "b")) == set()


def test_forced_channel_overrides_the_choice_but_needs_an_address():
    user = UserFactory()
    set_profile(user, notify_email=False, notify_sms=False, phone="+85291234567")
    no_phone = UserFactory()

    assert channels_of(notify(user, "Check-in code", "1234", channels={"sms"})) == {"sms"}
    assert channels_of(notify(user, "Receipt", "b", channels={"email"})) == {"email"}
    assert channels_of(notify(user, "Both", "b", channels={"email", "sms"})) == {"email", "sms"}
    assert channels_of(notify(user, "Inbox only", "b", channels={"inbox"})) == set()
    assert channels_of(notify(no_phone, "s", "b", channels={"sms"})) == set()
    assert Message.objects.filter(user=no_phone).count() == 1


def test_unknown_channel_is_a_programming_error():
    user = UserFactory()
    with pytest.raises(ValueError, match="fax"):
        notify(user, "s", "b", channels={"fax"})
    with pytest.raises(TypeError):
        notify(user, "s", "b", channels="email")
    assert not Message.objects.exists()


def test_lazy_strings_are_stored_in_the_recipients_language():
    user = UserFactory()
    set_profile(user, preferred_language="zh-hans")
    expected_subject = translated(REQUIRED, "zh-hans")
    expected_detail = translated(INVALID_EMAIL, "zh-hans")
    assert expected_subject not in {REQUIRED, translated(REQUIRED, "zh-hant")}

    with translation.override("en"):  # an officer working in English
        message = notify(
            user,
            gettext_lazy(REQUIRED),
            format_lazy("{detail} (#{ref})", detail=gettext_lazy(INVALID_EMAIL), ref="A-17"),
        )
        assert translation.get_language() == "en"

    message.refresh_from_db()
    assert message.subject == expected_subject
    assert message.body == f"{expected_detail} (#A-17)"
    assert message.language == "zh-hans"


def test_recipient_language_renders_templates_for_the_recipient():
    user = UserFactory()
    set_profile(user, preferred_language="zh-hant")
    template = Template('{% load i18n %}{% translate "This field is required." %}')
    with translation.override("en"):
        with recipient_language(user):
            text = template.render(Context())
        assert translation.get_language() == "en"
    assert text == translated(REQUIRED, "zh-hant")
    assert text != REQUIRED


def test_unknown_preferred_language_falls_back_to_the_default(settings):
    user = UserFactory()
    set_profile(user, preferred_language="xx")
    message = notify(user, gettext_lazy(REQUIRED), "b")
    assert message.language == settings.LANGUAGE_CODE
    assert message.subject == translated(REQUIRED, settings.LANGUAGE_CODE)


def test_user_without_profile_gets_the_defaults(settings):
    user = UserFactory()
    user.profile.delete()
    user = type(user).objects.get(pk=user.pk)
    message = notify(user, "s", "b")
    assert channels_of(message) == {"email"}
    assert message.language == settings.LANGUAGE_CODE


def test_subject_is_one_line_and_fits():
    user = UserFactory()
    message = notify(user, "Line one\r\nBcc: someone@example.org\n" + "x" * 400, "  body \n")
    assert "\n" not in message.subject and "\r" not in message.subject
    assert len(message.subject) == 255
    assert message.subject.endswith("…")
    assert message.body == "body"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "javascript:alert(1)",
        "clinics/12/",
        "/\\evil",
        "/cards/\nSet-Cookie: x",
        "/" + "a" * 500,
    ],
)
def test_url_must_be_a_path_on_the_portal(url):
    user = UserFactory()
    with pytest.raises(ValueError):
        notify(user, "s", "b", url=url)
    assert not Message.objects.exists()


def test_empty_subject_is_refused():
    with pytest.raises(ValueError):
        notify(UserFactory(), "   ", "b")


def test_attachments_are_stored_with_the_message():
    user = UserFactory()
    message = notify(
        user,
        "s",
        "b",
        attachments=[
            Attachment("../../visit.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar"),
            Attachment("scan.pdf", b"%PDF-1.4\x00\xff", "application/pdf"),
        ],
    )
    rows = list(message.attachments.order_by("pk"))
    assert [(r.filename, r.mimetype) for r in rows] == [
        ("visit.ics", "text/calendar"),
        ("scan.pdf", "application/pdf"),
    ]
    assert bytes(rows[0].content) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert bytes(rows[1].content) == b"%PDF-1.4\x00\xff"


def test_oversized_attachment_is_refused(settings):
    settings.NOTIFICATIONS_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(ValueError, match="too large"):
        notify(UserFactory(), "s", "b", attachments=[Attachment("big.pdf", b"x" * 1025)])
    assert not Message.objects.exists()
