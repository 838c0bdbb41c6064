"""What residents read: clinics for a service, their data export."""

import pytest

from health.booking import rules, selectors
from tests.factories import UserFactory

from .factories import (
    DependantFactory,
    SlotFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def test_clinics_ordered_by_distance_then_next_free(
    service, resident, django_assert_max_num_queries
):
    from tests.factories import CommunityFactory, StreetFactory

    from .factories import ClinicFactory

    home = CommunityFactory(latitude="22.300000", longitude="114.170000")
    resident.profile.street = StreetFactory(community=home)
    resident.profile.save()
    near = ClinicFactory(services=[service], latitude="22.301000", longitude="114.170000")
    far = ClinicFactory(services=[service], latitude="22.400000", longitude="114.170000")
    SlotFactory(clinic=near, service=service, start=tomorrow_at(15))
    SlotFactory(clinic=far, service=service, start=tomorrow_at(9))
    resident = UserFactory._meta.model.objects.select_related("profile__street__community").get(
        pk=resident.pk
    )

    with django_assert_max_num_queries(2):
        by_distance = selectors.clinics_for_service(service, resident)
    assert [r["clinic"] for r in by_distance] == [near, far]
    assert by_distance[0]["distance_km"] == pytest.approx(0.11, abs=0.01)
    soonest = selectors.clinics_for_service(service, resident, order="soonest")
    assert [r["clinic"] for r in soonest] == [far, near]


def test_export_holds_the_residents_booking_data_only(slot, resident):
    import json

    child = DependantFactory(owner=resident, name="Ming")
    rules.book(resident, slot.pk, dependant=child)
    rules.book(UserFactory(), slot.pk)
    data = selectors.export_resident_data(resident)
    json.dumps(data)
    assert [d["name"] for d in data["household"]] == ["Ming"]
    assert len(data["appointments"]) == 1 and data["appointments"][0]["for"] == "Ming"
