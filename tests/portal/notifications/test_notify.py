"""notify(): what it records, for whom, on which channels, in which languages."""

from django.core import mail
from django.db import transaction
from django.template import Context, Template
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

import pytest

from portal.notifications.kinds import NotificationKind, UnknownKind, get_kind, register
from portal.notifications.models import Delivery, KindPreference, Message, MessageAttachment
from portal.notifications.services import (
    Attachment,
    chosen_channels,
    notify,
    recipient_language,
)
from tests.factories import UserFactory

from .factories import set_profile
from .kinds import note

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
        note(
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
        note(user)
    # The delivery's (the other drops the resident's cached My page panels again at commit).
    assert len([c for c in callbacks if c.__qualname__.startswith("notify.")]) == 1
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_an_optional_kind_follows_the_profile():
    email_only = UserFactory()  # profile defaults: e-mail on, SMS off
    both = UserFactory()
    set_profile(both, notify_sms=True, phone="+85291234567")
    inbox_only = UserFactory()
    set_profile(inbox_only, notify_email=False)

    assert channels_of(note(email_only)) == {"email"}
    assert channels_of(note(both)) == {"email", "sms"}
    assert channels_of(note(inbox_only)) == set()
    # The inbox always has the message.
    assert Message.objects.filter(user=inbox_only).count() == 1


def test_the_kind_decides_which_channels_exist_at_all():
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567")
    assert channels_of(note(user, kind="tests.inbox_only")) == set()
    assert Message.objects.filter(user=user, kind="tests.inbox_only").count() == 1


def test_a_required_channel_ignores_the_profile_but_the_others_follow_it():
    user = UserFactory()
    set_profile(user, notify_email=False, notify_sms=False, phone="+85291234567")
    assert channels_of(note(user, kind="tests.receipt")) == {"email"}
    set_profile(user, notify_sms=True)
    assert channels_of(note(user, kind="tests.receipt")) == {"email", "sms"}


def test_a_channel_without_an_address_is_skipped():
    no_phone = UserFactory()
    set_profile(no_phone, notify_sms=True, phone="")
    no_email = UserFactory(email="")

    assert channels_of(note(no_phone)) == {"email"}
    assert channels_of(note(no_email, kind="tests.receipt")) == set()
    assert Message.objects.filter(user=no_email).count() == 1


def test_the_residents_choice_per_kind_is_followed():
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567")
    KindPreference.objects.create(user=user, kind="tests.note", inbox=True, email=False, sms=True)
    assert channels_of(note(user)) == {"sms"}
    # Other kinds keep their defaults.
    assert channels_of(note(user, kind="tests.short_sms")) == {"email", "sms"}


def test_a_kind_turned_off_records_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    KindPreference.objects.create(user=user, kind="tests.note", inbox=False, email=False, sms=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert note(user) is None
    assert callbacks == []
    assert not Message.objects.exists()


def test_a_mandatory_kind_cannot_be_turned_off():
    user = UserFactory()
    set_profile(user, notify_email=False)
    KindPreference.objects.create(
        user=user, kind="tests.receipt", inbox=False, email=False, sms=False
    )
    message = note(user, kind="tests.receipt")
    assert message is not None
    assert channels_of(message) == {"email"}


def test_the_profiles_switch_beats_a_per_kind_choice():
    user = UserFactory()
    set_profile(user, notify_email=False)
    KindPreference.objects.create(user=user, kind="tests.note", inbox=True, email=True, sms=False)
    assert chosen_channels("tests.note", user) == {"inbox"}


def test_unknown_kind_is_a_programming_error():
    user = UserFactory()
    with pytest.raises(UnknownKind, match="tests.nope"):
        notify("tests.nope", user, {})
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Booked"},
        {"name": "booking"},
        {"name": "booking..booked"},
        {"channels": {"fax"}},
        {"templates": {"subject": "x.txt"}},
        {"templates": {"subject": "x.txt", "body": "y.txt", "fax_body": "z.txt"}},
        {"optional": True, "required_channels": {"email"}},
        {"optional": False, "channels": {"inbox"}, "required_channels": {"email"}},
    ],
)
def test_a_badly_declared_kind_is_refused(changes):
    fields = {
        "name": "tests.declared",
        "label": "Declared",
        "templates": {"subject": "x.txt", "body": "y.txt"},
        "channels": {"inbox", "email"},
        **changes,
    }
    with pytest.raises((ValueError, TypeError)):
        NotificationKind(**fields)


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="twice"):
        register(
            NotificationKind("tests.note", label="Again", templates={"subject": "a", "body": "b"})
        )
    assert get_kind("tests.note").label == "A note"


def test_every_language_is_rendered_and_the_recipients_is_the_stored_one():
    user = UserFactory()
    set_profile(user, preferred_language="zh-hans")
    expected = {code: translated(REQUIRED, code) for code in ("zh-hant", "zh-hans", "en")}
    assert len(set(expected.values())) == 3

    with translation.override("en"):  # an officer working in English
        message = notify("tests.update", user, {"state": "A-17"})
        assert translation.get_language() == "en"

    message.refresh_from_db()
    assert message.language == "zh-hans"
    assert message.subject == expected["zh-hans"]
    assert message.body == f"{translated(INVALID_EMAIL, 'zh-hans')} A-17"
    for code, subject in expected.items():
        assert message.text(code)["subject"] == subject
        assert message.text(code)["body"] == f"{translated(INVALID_EMAIL, code)} A-17"


def test_lazy_strings_in_the_context_are_translated_per_language():
    user = UserFactory()
    message = note(
        user,
        gettext_lazy(REQUIRED),
        format_lazy("{detail} (#{ref})", detail=gettext_lazy(INVALID_EMAIL), ref="A-17"),
    )
    for code in ("zh-hant", "zh-hans", "en"):
        assert message.text(code)["subject"] == translated(REQUIRED, code)
        assert message.text(code)["body"] == f"{translated(INVALID_EMAIL, code)} (#A-17)"


def test_a_channel_with_its_own_templates_gets_its_own_text():
    user = UserFactory()
    message = note(user, "Hello", "A body longer than twenty characters", kind="tests.short_sms")
    en = message.texts["en"]
    assert set(en) == {"inbox"}  # SMS is off for this resident: not rendered
    set_profile(user, notify_sms=True, phone="+85291234567")
    message = note(user, "Hello", "A body longer than twenty characters", kind="tests.short_sms")
    assert message.text("en", "sms") == {
        "subject": "Hello (SMS)",
        "body": "Short: A body longer than …",
    }
    assert (
        message.text("en", "email")
        == message.text("en")
        == {
            "subject": "Hello",
            "body": "A body longer than twenty characters",
        }
    )


def test_plain_text_is_not_html_escaped():
    message = note(UserFactory(), "Fish & chips <3", 'She said "hi" & left')
    assert message.subject == "Fish & chips <3"
    assert message.body == 'She said "hi" & left'


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
    message = notify("tests.update", user, {})
    assert message.language == settings.LANGUAGE_CODE
    assert message.subject == translated(REQUIRED, settings.LANGUAGE_CODE)


def test_user_without_profile_gets_the_defaults(settings):
    user = UserFactory()
    user.profile.delete()
    user = type(user).objects.get(pk=user.pk)
    message = note(user)
    assert channels_of(message) == {"email"}
    assert message.language == settings.LANGUAGE_CODE


def test_subject_is_one_line_and_fits():
    user = UserFactory()
    message = note(user, "Line one\r\nBcc: someone@example.org\n" + "x" * 400, "  body \n")
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
        note(user, url=url)
    assert not Message.objects.exists()


def test_empty_subject_is_refused():
    with pytest.raises(ValueError):
        note(UserFactory(), "   ")


def test_about_names_the_object():
    user = UserFactory()
    assert note(user, about=user).about == f"auth.user:{user.pk}"
    assert note(user, about="case:A-17").about == "case:A-17"
    assert note(user).about == ""
    with pytest.raises(ValueError):
        note(user, about="x" * 101)


def test_attachments_are_stored_with_the_message():
    user = UserFactory()
    message = note(
        user,
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


def test_an_attachment_made_when_sent_keeps_only_its_value(upper_maker):
    message = note(
        UserFactory(),
        attachments=[
            Attachment("code.txt", mimetype="text/plain", made_by="tests.upper", made_from="k7q2")
        ],
    )
    [row] = message.attachments.all()
    assert (row.filename, row.mimetype, row.made_by, row.made_from) == (
        "code.txt",
        "text/plain",
        "tests.upper",
        "k7q2",
    )
    assert bytes(row.content) == b""
    assert upper_maker == []  # nothing is made while the message is recorded
    assert row.file_content() == b"K7Q2"


@pytest.mark.parametrize(
    "attachment, error",
    [
        (Attachment("a.txt", made_by="tests.nobody", made_from="x"), "no maker"),
        (Attachment("a.txt", b"kept", made_by="tests.upper", made_from="x"), "content and a maker"),
        (Attachment("a.txt", made_by="tests.upper", made_from="x" * 256), "made_from"),
        (Attachment("a.txt", made_by="tests.upper", made_from="line\nbreak"), "made_from"),
        (Attachment("a.txt", made_by="tests.upper", made_from=12), "made_from"),
    ],
)
def test_a_made_attachment_without_its_maker_or_a_good_value_is_refused(
    upper_maker, attachment, error
):
    with pytest.raises(ValueError, match=error):
        note(UserFactory(), attachments=[attachment])
    assert not Message.objects.exists() and not MessageAttachment.objects.exists()


def test_oversized_attachment_is_refused(settings):
    settings.NOTIFICATIONS_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(ValueError, match="too large"):
        note(UserFactory(), attachments=[Attachment("big.pdf", b"x" * 1025)])
    assert not Message.objects.exists()


def test_a_mandatory_kind_costs_no_query_for_preferences(django_assert_num_queries):
    user = UserFactory()
    user = type(user).objects.select_related("profile").get(pk=user.pk)
    # Message, attachments, deliveries: the statements booking's counts are pinned on.
    with django_assert_num_queries(3):
        note(user, kind="tests.receipt", attachments=[Attachment("a.txt", "a")])


def test_the_system_check_finds_a_kind_with_a_missing_template():
    from portal.notifications.checks import check_notification_kinds
    from portal.notifications.kinds import unregister

    assert check_notification_kinds() == []  # booking's kinds and the tests' are all there
    register(
        NotificationKind(
            "tests.broken", label="Broken", templates={"subject": "nope.txt", "body": "nope.txt"}
        )
    )
    try:
        errors = check_notification_kinds()
    finally:
        unregister("tests.broken")
    assert [error.id for error in errors] == ["notifications.E001"]
    assert "tests.broken" in errors[0].msg
