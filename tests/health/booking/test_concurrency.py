"""The core promise: never more bookings than capacity, under any concurrency.

These fire real concurrent transactions (one database connection per thread), which only
means something on PostgreSQL; SQLite serialises every writer, so they are skipped there.
"""

import threading
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction

import pytest

from health.booking import errors, rules
from health.booking.models import Appointment, AppointmentStatus, Slot
from tests.factories import UserFactory

from .factories import ClinicFactory, ServiceFactory, SlotFactory, tomorrow_at

postgres_only = pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="needs concurrent writers (PostgreSQL); SQLite serialises all writes",
)


def run_concurrently(jobs):
    """Run each job in its own thread and connection, all released at the same moment."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", job())
        except errors.BookingError as error:
            results[index] = ("refused", error)
        except Exception as error:  # anything else is a failure the test reports
            results[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_bookings_fill_capacity_exactly():
    service = ServiceFactory()
    slot = SlotFactory(service=service, clinic=ClinicFactory(services=[service]), capacity=3)
    residents = [UserFactory() for _ in range(52)]

    results = run_concurrently(
        [lambda r=resident: rules.book(r, slot.pk) for resident in residents]
    )

    outcomes = [kind for kind, _value in results]
    assert outcomes.count("error") == 0, [v for k, v in results if k == "error"]
    assert outcomes.count("ok") == 3
    refused = [value for kind, value in results if kind == "refused"]
    assert len(refused) == 49
    assert all(isinstance(error, errors.SlotFull) for error in refused)
    assert all("fully booked" in str(error) for error in refused)
    slot.refresh_from_db()
    assert slot.booked == 3
    assert Appointment.objects.filter(slot=slot, status=AppointmentStatus.BOOKED).count() == 3


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_same_resident_racing_for_overlapping_slots_gets_one():
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    first = SlotFactory(service=service, clinic=clinic, start=tomorrow_at(10), capacity=5)
    second = SlotFactory(
        service=service,
        clinic=clinic,
        start=tomorrow_at(10, 5),
        end=tomorrow_at(10, 20),
        capacity=5,
    )
    resident = UserFactory()

    results = run_concurrently(
        [lambda s=slot: rules.book(resident, s.pk) for slot in [first, second] * 10]
    )

    outcomes = [kind for kind, _value in results]
    assert outcomes.count("error") == 0, [v for k, v in results if k == "error"]
    assert outcomes.count("ok") == 1
    assert all(
        isinstance(value, errors.Overlapping) for kind, value in results if kind == "refused"
    )
    assert (
        Appointment.objects.filter(resident=resident, status=AppointmentStatus.BOOKED).count() == 1
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.booked + second.booked == 1


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_cancel_and_rebook_race_never_exceeds_capacity():
    service = ServiceFactory()
    slot = SlotFactory(service=service, clinic=ClinicFactory(services=[service]), capacity=2)
    holders = [rules.book(UserFactory(), slot.pk) for _ in range(2)]
    newcomers = [UserFactory() for _ in range(20)]

    jobs = [lambda a=a: rules.cancel(a, by=a.resident) for a in holders]
    jobs += [lambda r=r: rules.book(r, slot.pk) for r in newcomers]
    results = run_concurrently(jobs)

    assert [k for k, _v in results].count("error") == 0, [v for k, v in results if k == "error"]
    slot.refresh_from_db()
    active = Appointment.objects.filter(slot=slot, status=AppointmentStatus.BOOKED).count()
    assert slot.booked == active <= 2


@postgres_only
@pytest.mark.django_db
def test_exclusion_constraint_stops_overlaps_written_around_the_services():
    service = ServiceFactory()
    slot = SlotFactory(service=service, clinic=ClinicFactory(services=[service]), capacity=3)
    resident = UserFactory()
    Appointment.objects.create(slot=slot, resident=resident, start=slot.start, end=slot.end)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            slot=slot,
            resident=resident,
            start=slot.start + timedelta(minutes=5),
            end=slot.end + timedelta(minutes=5),
        )
    # Cancelled appointments do not count.
    Appointment.objects.filter(resident=resident).update(status=AppointmentStatus.CANCELLED)
    Appointment.objects.create(slot=slot, resident=resident, start=slot.start, end=slot.end)
    assert Slot.objects.filter(pk=slot.pk).exists()
