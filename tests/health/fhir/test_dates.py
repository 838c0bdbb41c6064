"""One FHIR date parser for stored and projected types (issue 9 §4).

Decision (recorded in health/fhir/README.md): a date or time without an offset is read in
the server's time zone (settings.TIME_ZONE), as FHIR's search rules say, in the index of
stored resources and in search values alike. Booking used to read local days and the store
UTC days; now `date=2026-05-04` is the district's 4 May for both, and every prefix
(including `ne` and `ap`) and every precision (`2026`, `2026-05`) means the same for both.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from health.fhir import searchparams as sp
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    ServiceFactory,
    SlotFactory,
)

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db

HK = ZoneInfo("Asia/Hong_Kong")
# 07:30 in Hong Kong on 4 May is still 3 May in UTC: the case the two parsers disagreed on.
MOMENT = datetime(2026, 5, 4, 7, 30, tzinfo=HK)


@pytest.fixture
def both(staff_api, create):
    """An Observation (stored) and an Appointment (projected by booking) at the same moment."""
    patient = create(patient_body())
    create(observation_body(patient["id"], when=MOMENT.isoformat()))
    service = ServiceFactory(code="general")
    slot = SlotFactory(
        clinic=ClinicFactory(services=[service]), service=service, start=MOMENT, capacity=2
    )
    AppointmentFactory(slot=slot)
    return staff_api


def _found(api, resource_type, param, value):
    response = api.get(f"/fhir/{resource_type}", {param: value})
    assert response.status_code == 200, response.content
    return len(response.json().get("entry", []))


SEARCHES = [
    ("2026-05-04", 1),  # the local day
    ("2026-05-03", 0),  # the UTC day the moment falls on: not the district's
    ("2026-05", 1),
    ("2026", 1),
    ("2025", 0),
    ("ne2026-05-04", 0),
    ("ne2026-05-03", 1),
    ("ap2026-05-04", 1),
    ("ap2026-06-01", 0),
    ("gt2026-05-03", 1),
    ("gt2026-05-04", 0),
    ("ge2026-05-04", 1),
    ("lt2026-05-05", 1),
    ("lt2026-05-04", 0),
    ("le2026-05-04", 1),
    ("sa2026-05-03", 1),
    ("eb2026-05-05", 1),
    ("2026-05-04T07:30", 1),  # a local minute
    ("2026-05-03T23:30:00Z", 1),  # the same moment in UTC
    ("2026-05-03T23:31:00Z", 0),
    ("lt2026-05-04T00:00:00+08:00,gt2026-05-04T07:00:00+08:00", 1),  # commas OR
]


@pytest.mark.parametrize("value,expected", SEARCHES)
def test_stored_and_projected_dates_search_alike(both, value, expected):
    assert _found(both, "Observation", "date", value) == expected
    assert _found(both, "Appointment", "date", value) == expected
    assert _found(both, "Slot", "start", value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "2026-05-04T25:00", "2026-05-04T10:00+99:00"])
def test_impossible_dates_are_400_for_both(both, value):
    for resource_type, param in (("Observation", "date"), ("Appointment", "date")):
        response = both.get(f"/fhir/{resource_type}", {param: value})
        assert response.status_code == 400, (resource_type, response.content)
        assert response.json()["resourceType"] == "OperationOutcome"


def test_a_date_without_offset_is_the_servers_day(settings):
    start, end = sp.date_range("2026-05-04")
    assert start == datetime(2026, 5, 4, tzinfo=HK)
    assert end == datetime(2026, 5, 5, tzinfo=HK) - timedelta(microseconds=1)
    assert sp.date_range("2026-05-04T10:00Z")[0] == datetime(2026, 5, 4, 10, tzinfo=UTC)
    settings.TIME_ZONE = "UTC"
    assert sp.date_range("2026-05-04")[0] == datetime(2026, 5, 4, tzinfo=UTC)


def test_the_ends_of_the_calendar_are_clamped_not_refused():
    assert sp.date_range("0001")[0] == sp.DATE_MIN
    assert sp.date_range("9999-12-31")[1] == sp.DATE_MAX
    assert sp.date_range("9999")[1] == sp.DATE_MAX


def test_a_stored_date_without_offset_is_indexed_as_the_local_day(staff_api, create):
    patient = create(patient_body(birth="1980-05-17"))
    assert _found(staff_api, "Patient", "birthdate", "1980-05-17") == 1
    # The indexed day starts at local midnight, 16:00 UTC the day before.
    assert _found(staff_api, "Patient", "birthdate", "sa1980-05-16T15:59:59Z") == 1
    assert _found(staff_api, "Patient", "birthdate", "sa1980-05-16T16:00:00Z") == 0
    assert _found(staff_api, "Patient", "birthdate", "sa1980-05-16T23:59:59+08:00") == 1
    assert patient["birthDate"] == "1980-05-17"


def test_the_date_reindex_migration_reads_dates_in_server_time():
    """fhir/0004 recomputes index rows that were written with the old (UTC) rule."""
    import importlib

    from django.apps import apps

    from health.fhir import store
    from health.fhir.models import DateIndex

    patient = store.create_resource("Patient", patient_body(birth="1980-05-17")).resource
    row = DateIndex.objects.get(resource_id=patient.pk, param="birthdate")
    utc_day = datetime(1980, 5, 17, tzinfo=UTC)
    DateIndex.objects.filter(pk=row.pk).update(start=utc_day, end=utc_day + timedelta(days=1))
    module = importlib.import_module("health.fhir.migrations.0004_reindex_dates_in_server_time")
    module.reindex_dates(apps, None)
    row = DateIndex.objects.get(resource_id=patient.pk, param="birthdate")
    assert row.start == datetime(1980, 5, 17, tzinfo=HK)
