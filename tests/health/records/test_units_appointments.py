"""Issue 3 (units in the resident's language) and issue 4 (clinic appointments in the record)."""

import re
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise

import pytest

from health.booking.models import AppointmentStatus
from health.records import labels, services
from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ServiceFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db

APPOINTMENTS = reverse("records:section", args=["appointments"])


# -- units ---------------------------------------------------------------------------------


def test_unit_labels_are_translatable_and_fall_back():
    for code in ("mm[Hg]", "kg", "/min", "kg/m2", "mmol/L", "%", "mg/dL", "cm", "Cel"):
        assert isinstance(labels.UNITS[code], Promise), code
    assert str(labels.unit_label("mm[Hg]")) == "mmHg"
    assert str(labels.unit_label("Cel")) == "°C"
    assert str(labels.unit_label("kg/m2")) == "kg/m²"
    # An unknown code shows the Quantity's display text, then the code itself.
    assert labels.unit_label("[in_i]", "inches") == "inches"
    assert labels.unit_label("[in_i]") == "[in_i]"
    assert labels.unit_label("", "") == ""
    # A known display text without a code is translated too.
    assert str(labels.quantity_unit({"unit": "mm[Hg]"})) == "mmHg"
    assert str(labels.quantity_unit({"unit": "degrees", "code": "Cel"})) == "°C"
    assert labels.quantity_unit({"unit": "widgets", "code": "wdg"}) == "widgets"
    assert labels.quantity_unit({}) == ""


def test_observation_value_uses_unit_labels():
    assert services.observation_value(
        {"valueQuantity": {"value": 37.2, "unit": "Cel", "code": "Cel"}}
    ) == ("37.2 °C")
    assert (
        services.observation_value(
            {
                "component": [
                    {"valueQuantity": {"value": 120, "unit": "mm[Hg]", "code": "mm[Hg]"}},
                    {"valueQuantity": {"value": 80, "unit": "mm[Hg]", "code": "mm[Hg]"}},
                ]
            }
        )
        == "120/80 mmHg"
    )
    assert services.observation_value({"valueQuantity": {"value": 3, "unit": "widgets"}}) == (
        "3 widgets"
    )
    assert services.observation_value({"valueQuantity": {"value": 3, "code": "wdg"}}) == "3 wdg"
    assert services.observation_value({"valueQuantity": {"value": 3}}) == "3"
    assert services.observation_value({"valueQuantity": {"unit": "kg"}}) == "kg"


def test_record_pages_show_unit_labels_not_ucum_codes(linked_resident):
    client, _user, _pid = linked_resident(seed=41, encounters=8)
    client.cookies["portal_language"] = "en"  # English unit labels; zh has its own words
    index = client.get(reverse("records:index")).content.decode()
    panel = client.get(reverse("mypage:index")).content.decode()
    results = client.get(reverse("records:results")).content.decode()
    summary = client.get(reverse("records:summary")).content.decode()
    for page in (index, panel, results):
        assert "mm[Hg]" not in page
        assert "mmHg" in page
    assert "kg/m2" not in index and "kg/m²" in index
    assert "kg/m²" in results and "kg/m2" not in results
    # The chart description and the data table carry the unit with the values.
    description = re.search(r'<p id="chart-blood-pressure-desc">([^<]*)</p>', results).group(1)
    assert re.search(r"\d mmHg.*\d mmHg", description)
    assert re.search(r'<th scope="col">[^<]+ \(mmHg\)</th>', results)
    assert "mm[Hg]" not in summary


# -- appointments ----------------------------------------------------------------------------


def _slot(start=None):
    service = ServiceFactory(name_en="General practice")
    clinic = ClinicFactory(services=[service], name_en="Riverside Clinic")
    if start is None:
        return SlotFactory(clinic=clinic, service=service)
    return SlotFactory(
        clinic=clinic, service=service, start=start, end=start + timedelta(minutes=15)
    )


def _appointments_for(user, shift=0):
    """An upcoming one, a completed past one and an upcoming one for a child."""
    now = timezone.now() + timedelta(hours=shift)
    upcoming = AppointmentFactory(resident=user, slot=_slot(now + timedelta(days=1)))
    past_slot = _slot(now - timedelta(days=3))
    past = AppointmentFactory(resident=user, slot=past_slot, status=AppointmentStatus.COMPLETED)
    child = DependantFactory(owner=user, name="Little Lam" if not shift else f"Child {shift}")
    later = _slot(now + timedelta(days=2))
    for_child = AppointmentFactory(resident=user, dependant=child, slot=later)
    return upcoming, past, for_child


def test_appointments_section_lists_own_and_household(linked_resident):
    client, user, _pid = linked_resident(seed=42, encounters=2)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    upcoming, past, for_child = _appointments_for(user)
    other = AppointmentFactory(resident=UserFactory(), slot=_slot())

    index = client.get(reverse("records:index")).content.decode()
    assert f'href="{APPOINTMENTS}"' in index  # in the record navigation

    response = client.get(APPOINTMENTS)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'aria-current="page"' in content
    for appointment in (upcoming, past, for_child):
        assert reverse("booking:appointment", args=[appointment.pk]) in content
    assert reverse("booking:appointment", args=[other.pk]) not in content
    assert "For Little Lam" in content
    assert "Completed" in content
    assert "General practice" in content and "Riverside Clinic" in content
    assert reverse("booking:appointments") in content
    assert [a.pk for a in response.context["upcoming"]] == [upcoming.pk, for_child.pk]
    assert [a.pk for a in response.context["recent"]] == [past.pk]


def test_appointments_section_empty_and_unlinked(linked_resident, resident_client):
    client, _user, _pid = linked_resident(seed=43, encounters=2)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    content = client.get(APPOINTMENTS).content.decode()
    assert "You have no upcoming appointments." in content
    assert reverse("booking:index") in content
    assert resident_client.get(APPOINTMENTS).status_code == 302


def test_appointments_section_query_count_is_bounded(linked_resident):
    small_client, small_user, _p = linked_resident(seed=44, encounters=2)
    big_client, big_user, _p2 = linked_resident(seed=45, encounters=2)
    _appointments_for(small_user)
    for shift in range(4):
        _appointments_for(big_user, shift)
    # The first page of the process fills per-process caches (the cms site menu): warm them.
    warm_client, _u3, _p3 = linked_resident(seed=43, encounters=1)
    warm_client.get(APPOINTMENTS)
    counts = []
    for client in (small_client, big_client):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(APPOINTMENTS).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 12


def test_units_follow_the_interface_language(linked_resident):
    client, _user, _pid = linked_resident(seed=41, encounters=8)
    client.cookies["portal_language"] = "zh-hant"
    page = client.get(reverse("records:results")).content.decode()
    assert "毫米汞柱" in page
    assert "mm[Hg]" not in page


def test_latest_vital_signs_lead_with_blood_pressure(linked_resident):
    # A visit's readings share one time; the panel shows the first four, so the order must
    # not be left to chance (it was: blood pressure was sometimes cut off).
    client, user, pid = linked_resident(seed=41, encounters=8)
    vitals = services.Record(user, pid).latest_vitals()
    assert [item.code for item in vitals[:3]] == ["85354-9", "8867-4", "29463-7"]
    client.cookies["portal_language"] = "en"
    panel = client.get(reverse("mypage:index")).content.decode()
    assert "Blood pressure panel:" in panel and "mmHg" in panel
