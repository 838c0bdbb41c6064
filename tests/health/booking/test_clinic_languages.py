"""A clinic's address and opening hours in each interface language: the model's fallback, the
resident's pages, the e-mail and .ics in the recipient's language, the FHIR Location, the
staff edit form, and the migration that split the old single-language fields."""

import io
from datetime import timedelta

from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone, translation

import pytest

from health.booking import fhir, ics, notifications, rules
from health.booking.models import Appointment, Clinic
from portal.notifications.models import Message
from portal.notifications.services import deliver_message
from tests.factories import CommunityFactory, UserFactory

from .factories import ClinicFactory, SlotFactory, clinic_form_data

pytestmark = pytest.mark.django_db

ADDRESSES = {
    "zh-hant": "海旁道88號海濱綜合大樓地下",
    "zh-hans": "海旁道88号海滨综合大楼地下",
    "en": "G/F, Harbour Complex, 88 Praya Road",
}
HOURS = {
    "zh-hant": "星期一至五 09:00–17:00\n星期六休息",
    "zh-hans": "星期一至五 09:00–17:00\n星期六休息（简体）",
    "en": "Mon–Fri 09:00–17:00\nClosed on Saturdays",
}


@pytest.fixture
def harbour(service):
    return ClinicFactory(
        services=[service],
        address_zh_hant=ADDRESSES["zh-hant"],
        address_zh_hans=ADDRESSES["zh-hans"],
        address_en=ADDRESSES["en"],
        opening_hours_zh_hant=HOURS["zh-hant"],
        opening_hours_zh_hans=HOURS["zh-hans"],
        opening_hours_en=HOURS["en"],
    )


def in_language(language, clinic, attribute):
    with translation.override(language):
        return getattr(clinic, attribute)


# The model ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_address_and_hours_answer_in_the_active_language(harbour, language):
    assert in_language(language, harbour, "address") == ADDRESSES[language]
    assert in_language(language, harbour, "address_language") == language
    assert in_language(language, harbour, "opening_hours") == HOURS[language]


def test_blank_translations_fall_back_to_traditional_chinese(service):
    clinic = ClinicFactory(
        address_zh_hant="河堤路7號",
        address_zh_hans="",
        address_en="",
        opening_hours_zh_hant="",
        opening_hours_zh_hans="",
        opening_hours_en="Mon–Fri 9:00–17:00",
    )
    for language in ("zh-hans", "en"):
        assert in_language(language, clinic, "address") == "河堤路7號"
        assert in_language(language, clinic, "address_language") == "zh-hant"
    # Hours only in English: shown rather than nothing, and marked as English.
    assert in_language("zh-hans", clinic, "opening_hours") == "Mon–Fri 9:00–17:00"
    assert in_language("zh-hans", clinic, "opening_hours_language") == "en"
    clinic.opening_hours_en = ""
    assert in_language("en", clinic, "opening_hours") == ""


# Resident pages ----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_clinic_pages_show_the_address_in_the_readers_language(
    resident_client, harbour, service, language, settings
):
    slot = SlotFactory(clinic=harbour, service=service)
    resident_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    others = [text for code, text in ADDRESSES.items() if code != language]

    page = resident_client.get(reverse("booking:clinics", args=[service.code])).content.decode()
    assert f'<span lang="{language}">{ADDRESSES[language]}</span>' in page
    assert HOURS[language].replace("\n", "<br>") in page
    assert not any(other in page for other in others)

    page = resident_client.get(
        reverse("booking:clinic_days", args=[harbour.pk, service.code])
    ).content.decode()
    assert ADDRESSES[language] in page and not any(other in page for other in others)

    page = resident_client.get(reverse("booking:book", args=[slot.pk])).content.decode()
    assert ADDRESSES[language] in page and not any(other in page for other in others)


def test_a_fallback_address_is_marked_with_its_language(resident_client, service, settings):
    clinic = ClinicFactory(services=[service], address_zh_hant="河堤路7號", address_en="")
    SlotFactory(clinic=clinic, service=service)
    resident_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = resident_client.get(reverse("booking:clinics", args=[service.code])).content.decode()
    assert '<span lang="zh-hant">河堤路7號</span>' in page


# E-mail, .ics and FHIR ---------------------------------------------------------------------------
def unfold(text):
    return text.replace("\r\n ", "")


def ics_location(raw):
    [line] = [line for line in unfold(raw).split("\r\n") if line.startswith("LOCATION:")]
    return line.removeprefix("LOCATION:")


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_confirmation_and_ics_location_in_the_recipients_language(harbour, service, language):
    slot = SlotFactory(clinic=harbour, service=service)
    resident = UserFactory()
    resident.profile.preferred_language = language
    resident.profile.save()

    # Booked while the (staff or test) request is in another language: the recipient's counts.
    with translation.override("en" if language != "en" else "zh-hant"):
        appointment = rules.book(resident, slot.pk)
    deliver_message(Message.objects.get(user=resident, kind="booking.booked").pk)
    [email] = [m for m in mail.outbox if resident.email in m.to]
    others = [text for code, text in ADDRESSES.items() if code != language]

    assert ADDRESSES[language] in email.body
    assert not any(other in email.body for other in others)
    (_name, content, _mimetype), _png = email.attachments
    raw = content if isinstance(content, str) else content.decode()
    with translation.override(language):
        expected = ics.escape_text(f"{harbour.name}, {ADDRESSES[language]}")
    assert ics_location(raw) == expected

    # The file downloaded from the appointment page follows the reader's language too.
    with translation.override(language):
        downloaded = ics.appointment_ics(appointment).decode()
    assert ics_location(downloaded) == expected


def test_reminder_e_mail_uses_the_recipients_language(harbour, service, settings):
    slot = SlotFactory(clinic=harbour, service=service)
    resident = UserFactory()
    resident.profile.preferred_language = "zh-hans"
    resident.profile.save()
    appointment = rules.book(resident, slot.pk)
    Message.objects.filter(user=resident).delete()
    # Booked yesterday, so today's reminder run (at any time of day) reminds them.
    Appointment.objects.filter(pk=appointment.pk).update(
        booked_at=timezone.now() - timedelta(days=1)
    )
    settings.BOOKING_REMINDER_TIME = "00:00"
    assert notifications.send_reminders() == 1
    reminder = Message.objects.get(user=resident, kind="booking.reminder")
    assert ADDRESSES["zh-hans"] in reminder.body
    assert ADDRESSES["en"] not in reminder.body


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_fhir_location_in_the_requested_language(harbour, language):
    with translation.override(language):
        location = fhir.location_resource(harbour)
    assert location["address"] == {"text": ADDRESSES[language]}
    assert location["description"] == HOURS[language]


# Staff edit form ---------------------------------------------------------------------------------
def test_edit_form_has_a_labelled_field_per_language(nurse_client, clinic):
    page = nurse_client.get(reverse("booking_clinics:edit", args=[clinic.pk])).content.decode()
    for field, label in [
        ("address_zh_hant", "address (Traditional Chinese)"),
        ("address_zh_hans", "address (Simplified Chinese)"),
        ("address_en", "address (English)"),
        ("opening_hours_zh_hant", "opening hours (Traditional Chinese)"),
        ("opening_hours_zh_hans", "opening hours (Simplified Chinese)"),
        ("opening_hours_en", "opening hours (English)"),
    ]:
        assert f'for="id_{field}"' in page, field
        assert label.lower() in page.lower(), label


def test_staff_edit_form_saves_all_three_languages(nurse_client, clinic):
    url = reverse("booking_clinics:edit", args=[clinic.pk])
    response = nurse_client.post(
        url,
        clinic_form_data(
            clinic,
            address_zh_hant=ADDRESSES["zh-hant"],
            address_zh_hans=ADDRESSES["zh-hans"],
            address_en=ADDRESSES["en"],
            opening_hours_zh_hant=HOURS["zh-hant"],
            opening_hours_zh_hans=HOURS["zh-hans"],
            opening_hours_en=HOURS["en"],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    clinic.refresh_from_db()
    assert (clinic.address_zh_hant, clinic.address_zh_hans, clinic.address_en) == (
        ADDRESSES["zh-hant"],
        ADDRESSES["zh-hans"],
        ADDRESSES["en"],
    )
    saved_hours = (
        clinic.opening_hours_zh_hant,
        clinic.opening_hours_zh_hans,
        clinic.opening_hours_en,
    )
    # Browsers send line breaks in a textarea as CRLF; compare the lines.
    assert [h.splitlines() for h in saved_hours] == [
        HOURS[code].splitlines() for code in ("zh-hant", "zh-hans", "en")
    ]


def test_traditional_chinese_address_is_required_the_others_are_not(nurse_client, clinic):
    url = reverse("booking_clinics:edit", args=[clinic.pk])
    before = clinic.address_zh_hant
    response = nurse_client.post(url, clinic_form_data(clinic, address_zh_hant="  "))
    assert response.status_code == 200
    assert "address_zh_hant" in response.context["form"].errors
    clinic.refresh_from_db()
    assert clinic.address_zh_hant == before

    response = nurse_client.post(
        url, clinic_form_data(clinic, address_zh_hans="", address_en="", opening_hours_en="")
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.address_zh_hans, clinic.address_en, clinic.opening_hours_en) == ("", "", "")


def test_too_long_address_is_a_form_error_not_a_500(nurse_client, clinic):
    url = reverse("booking_clinics:edit", args=[clinic.pk])
    response = nurse_client.post(url, clinic_form_data(clinic, address_en="x" * 201))
    assert response.status_code == 200
    assert "address_en" in response.context["form"].errors


def test_clinic_listing_shows_the_address_in_the_staff_members_language(
    nurse_client, nurse, harbour
):
    harbour.staff.add(nurse)
    page = nurse_client.get(reverse("booking_clinics:index")).content.decode()
    assert ADDRESSES["en"] in page and ADDRESSES["zh-hant"] not in page


# Demo data ---------------------------------------------------------------------------------------
def test_demo_clinics_have_addresses_and_hours_in_three_languages(db):
    from health.booking.demo import load_booking_demo

    for code in ["harbour", "hillside", "market", "riverside", "extra"]:
        CommunityFactory(code=code)
    load_booking_demo(io.StringIO())
    clinics = list(Clinic.objects.order_by("code"))
    assert len(clinics) == 5
    for clinic in clinics:
        addresses = [clinic.address_zh_hant, clinic.address_zh_hans, clinic.address_en]
        hours = [
            clinic.opening_hours_zh_hant,
            clinic.opening_hours_zh_hans,
            clinic.opening_hours_en,
        ]
        assert all(addresses) and len(set(addresses)) == 3, clinic.code
        assert all(hours), clinic.code
    harbour = Clinic.objects.get(code="harbour")
    assert harbour.address_en == "G/F, Harbour Complex, 88 Praya Road"
    assert "號" in harbour.address_zh_hant and "号" in harbour.address_zh_hans


# The migration -----------------------------------------------------------------------------------
BEFORE = [("booking", "0005_dependant_booking_dependant_unique_active")]
AFTER = [("booking", "0006_clinic_address_and_opening_hours_per_language")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_moves_the_old_address_and_hours_into_the_language_fields(back_to_latest):
    old_apps = migrate(BEFORE)
    OldClinic = old_apps.get_model("booking", "Clinic")
    common = {"latitude": "22.3", "longitude": "114.17", "phone": "28001234"}
    OldClinic.objects.create(
        code="chinese",
        name_zh_hant="甲",
        name_zh_hans="甲",
        name_en="A",
        address="海旁道88號",
        opening_hours="星期一至五 9:00–17:00",
        **common,
    )
    OldClinic.objects.create(
        code="english",
        name_zh_hant="乙",
        name_zh_hans="乙",
        name_en="B",
        address="1 Harbour Road",
        opening_hours="Mon–Fri 9:00–17:00",
        **common,
    )
    OldClinic.objects.create(
        code="no-hours",
        name_zh_hant="丙",
        name_zh_hans="丙",
        name_en="C",
        address="2 Pier St",
        **common,
    )

    new_apps = migrate(AFTER)
    NewClinic = new_apps.get_model("booking", "Clinic")
    chinese = NewClinic.objects.get(code="chinese")
    assert (chinese.address_zh_hant, chinese.address_zh_hans, chinese.address_en) == (
        "海旁道88號",
        "",
        "",
    )
    assert (chinese.opening_hours_zh_hant, chinese.opening_hours_en) == (
        "星期一至五 9:00–17:00",
        "",
    )
    english = NewClinic.objects.get(code="english")
    assert (english.address_zh_hant, english.address_zh_hans, english.address_en) == (
        "1 Harbour Road",
        "",
        "1 Harbour Road",
    )
    assert (english.opening_hours_zh_hant, english.opening_hours_en) == (
        "Mon–Fri 9:00–17:00",
        "Mon–Fri 9:00–17:00",
    )
    no_hours = NewClinic.objects.get(code="no-hours")
    assert (no_hours.opening_hours_zh_hant, no_hours.opening_hours_en) == ("", "")

    # And back: the single field gets the Traditional Chinese text again.
    old_apps = migrate(BEFORE)
    back = {c.code: c for c in old_apps.get_model("booking", "Clinic").objects.all()}
    assert back["chinese"].address == "海旁道88號"
    assert back["english"].opening_hours == "Mon–Fri 9:00–17:00"
    migrate(AFTER)
    # Readers see what they saw before the split, in every language.
    with translation.override("en"):
        clinic = Clinic.objects.get(code="chinese")
        assert clinic.address == "海旁道88號"
        assert Clinic.objects.get(code="english").address == "1 Harbour Road"
