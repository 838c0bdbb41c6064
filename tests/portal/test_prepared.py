"""portal.prepared: a query compiled once answers exactly as the ORM does, for any values."""

import threading
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.transaction import TransactionManagementError

import pytest

from health.booking.models import Appointment, Slot
from portal.prepared import PreparedQuery, _drop_prepared_statements
from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    ServiceFactory,
    SlotFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def _slot(hour=10):
    service = ServiceFactory()
    return SlotFactory(
        service=service, clinic=ClinicFactory(services=[service]), start=tomorrow_at(hour)
    )


def _slot_with_booking(slot, resident):
    own = Appointment.objects.filter(resident=resident, slot=OuterRef("pk")).values("pk")[:1]
    return (
        Slot.objects.select_related("clinic", "service", "practitioner")
        .annotate(own_booking=Subquery(own))
        .filter(pk=slot)
    )


def test_it_answers_as_the_orm_does_with_related_objects_and_annotations():
    built = []

    def build(slot, resident):
        built.append((slot, resident))
        return _slot_with_booking(slot, resident)

    query = PreparedQuery(build, slot=-1_000_001, resident=-1_000_002)
    booked = AppointmentFactory(slot=_slot())
    other = _slot(11)
    resident = booked.resident
    for slot, expected_booking in ((booked.slot, booked.pk), (other, None)):
        prepared = query.first(slot=slot.pk, resident=resident.pk)
        orm = _slot_with_booking(slot.pk, resident.pk).get()
        assert prepared.pk == orm.pk and prepared.own_booking == orm.own_booking
        assert prepared.own_booking == expected_booking
        assert (prepared.start, prepared.end, prepared.capacity) == (
            orm.start,
            orm.end,
            orm.capacity,
        )
        # select_related objects come filled in, with every field, and are not read again.
        assert prepared.clinic == orm.clinic and prepared.service == orm.service
        assert prepared.clinic.name_en == orm.clinic.name_en
        assert Slot.clinic.is_cached(prepared) and Slot.service.is_cached(prepared)
        assert prepared._state.adding is False and prepared._state.db == "default"
    # Another resident's booking is not theirs.
    assert query.first(slot=booked.slot.pk, resident=UserFactory().pk).own_booking is None
    assert query.first(slot=10**15, resident=resident.pk) is None
    # Built once, with the markers, however many times it ran.
    assert built == [(-1_000_001, -1_000_002)]


def test_a_user_read_by_it_is_a_whole_user():
    User = get_user_model()
    query = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-5)
    user = UserFactory(first_name="Ada")
    read = query.first(pk=user.pk)
    assert (
        read == user and read.first_name == "Ada" and read.check_password("correct horse battery")
    )
    read.last_name = "Lovelace"
    read.save(update_fields=["last_name"])  # an ordinary instance: it saves
    assert User.objects.get(pk=user.pk).last_name == "Lovelace"


@pytest.mark.parametrize(
    "markers, error",
    [
        ({}, ValueError),
        ({"when": datetime(2026, 1, 1)}, TypeError),  # naive: which time would it be?
        ({"pk": 1.5}, TypeError),
    ],
)
def test_markers_that_could_not_be_found_again_are_refused(markers, error):
    with pytest.raises(error):
        PreparedQuery(lambda **kw: Slot.objects.all(), **markers)


def test_a_marker_missing_from_or_repeated_in_the_sql_is_refused_at_first_use():
    missing = PreparedQuery(lambda pk: Slot.objects.filter(capacity=3), pk=-77)
    with pytest.raises(ValueError, match="appears 0 times"):
        missing.first(pk=1)
    twice = PreparedQuery(lambda pk: Slot.objects.filter(pk=pk, clinic_id=pk), pk=-77)
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.first(pk=1)


def test_deferred_fields_and_values_are_refused_at_first_use():
    for build in (
        lambda pk: Slot.objects.filter(pk=pk).values("pk"),
        lambda pk: Slot.objects.filter(pk=pk).values_list("pk", flat=True),
        lambda pk: Slot.objects.filter(pk=pk).only("start"),
    ):
        with pytest.raises(ValueError, match="rows"):
            PreparedQuery(build, pk=-77).first(pk=1)


def test_annotations_and_values_list_rows_with_datetimes_answer_as_the_orm_does():
    def counts(slot, after):
        return (
            Appointment.objects.filter(slot=slot)
            .values("slot")
            .annotate(n=Count("pk"), later=Count("pk", filter=Q(start__gt=after)))
            .values_list("n", "later")
        )

    query = PreparedQuery(counts, slot=-77, after=datetime(1901, 1, 1, tzinfo=UTC))
    slot = AppointmentFactory(slot=_slot()).slot
    for after in (slot.start - timedelta(minutes=1), slot.start, slot.start + timedelta(days=1)):
        assert query.first(slot=slot.pk, after=after) == next(iter(counts(slot.pk, after)))
    assert query.first(slot=slot.pk, after=slot.start - timedelta(minutes=1)) == (1, 1)
    assert query.first(slot=_slot(12).pk, after=slot.start) is None  # no appointment: no row
    annotated = PreparedQuery(
        lambda pk: Slot.objects.filter(pk=pk).annotate(n=Count("appointments")), pk=-77
    )
    assert annotated.first(pk=slot.pk).n == 1
    columns = PreparedQuery(
        lambda pk: Slot.objects.filter(pk=pk).values_list("pk", "capacity"), pk=-77
    )
    assert columns.first(pk=slot.pk) == (slot.pk, slot.capacity)


def test_the_values_must_be_the_markers_names():
    query = PreparedQuery(lambda pk: Slot.objects.filter(pk=pk), pk=-77)
    with pytest.raises(TypeError):
        query.first(id=1)


def test_values_of_the_wrong_kind_are_refused_and_an_id_no_column_holds_finds_nothing():
    query = PreparedQuery(lambda pk: Slot.objects.filter(pk=pk), pk=-77)
    for wrong in ("12", 1.0, True, None):
        with pytest.raises(TypeError):
            query.first(pk=wrong)
    assert query.first(pk=2**63) is None and query.first(pk=-(2**63) - 1) is None
    dated = PreparedQuery(
        lambda after: Slot.objects.filter(start__gt=after), after=datetime(1901, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(TypeError, match="aware"):
        dated.first(after=datetime(2026, 1, 1))  # naive: whose clock?


@pytest.mark.django_db(transaction=True)  # autocommit between the blocks, as outside a test
def test_a_locking_query_outside_a_transaction_is_refused_every_time():
    lock = PreparedQuery(
        lambda pk: Slot.objects.select_for_update().filter(pk=pk).values_list("pk"), pk=-77
    )
    slot = _slot()
    with transaction.atomic():
        assert lock.first(pk=slot.pk) == (slot.pk,)  # compiled here, inside a transaction
    with pytest.raises(TransactionManagementError):
        lock.first(pk=slot.pk)


def test_each_thread_runs_it_on_its_own_connection():
    query = PreparedQuery(lambda pk: Slot.objects.filter(pk=pk), pk=-77)
    assert query.first(pk=10**12) is None
    seen = {}

    def other_thread():
        try:
            seen["row"] = query.first(pk=10**12)
            seen["compiler_connection"] = query._local.compiled["default"][
                "rows"
            ].compiler.connection
            seen["connection"] = connections["default"]
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen["row"] is None
    assert seen["compiler_connection"] is seen["connection"]  # that thread's own
    assert query._local.compiled["default"]["rows"].compiler.connection is connections["default"]


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="prepared on the PostgreSQL server"
)
@pytest.mark.parametrize("on", [True, False])
def test_on_postgresql_the_statement_is_prepared_on_the_server_unless_turned_off(
    settings, on, django_assert_num_queries
):
    settings.DATABASE_PREPARED_STATEMENTS = on
    _drop_prepared_statements(connections["default"])  # what an earlier test left
    query = PreparedQuery(lambda pk: get_user_model().objects.filter(pk=pk), pk=-918_273_645)
    users = UserFactory(), UserFactory()
    with django_assert_num_queries(2):  # still Django's cursor: logged and counted
        found = [query.first(pk=user.pk) for user in users]
    assert found == list(users)
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "auth_user" WHERE "auth_user"."id" = $1%'],
        )
        assert cursor.fetchone()[0] == (1 if on else 0)


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="prepared on the PostgreSQL server"
)
@pytest.mark.django_db(transaction=True)
def test_a_statement_a_migration_made_stale_elsewhere_is_prepared_again():
    """Another process's migration changes a column the prepared statement reads: PostgreSQL
    refuses to run the old plan; outside a transaction it is prepared anew and answers."""
    query = PreparedQuery(lambda pk: get_user_model().objects.filter(pk=pk), pk=-918_273_645)
    user = UserFactory()
    assert query.first(pk=user.pk) == user  # prepared on this connection

    def alter(length):
        # On a connection of its own, as a migration in another process runs.
        def run():
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    f"ALTER TABLE auth_user ALTER COLUMN first_name TYPE varchar({length})"
                )
            connections["default"].close()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    alter(151)
    try:
        assert query.first(pk=user.pk) == user
        assert query.first(pk=user.pk) == user
    finally:
        alter(150)
