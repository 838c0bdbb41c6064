"""Concurrent writers on PostgreSQL: the database, not luck, keeps the store consistent."""

import threading

from django.db import connection, connections

import pytest

from health.fhir import store
from health.fhir.errors import FhirError
from health.fhir.models import ConditionalCreateKey, Resource, ResourceVersion

from .conftest import patient_body

THREADS = 8


def _run_concurrently(work):
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def target():
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL, the production engine")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_conditional_creates_make_exactly_one(postgres_only):
    criteria = "identifier=https://district.example/hkid|RACE-1"

    def work():
        return store.create_resource(
            "Patient", patient_body(ident="RACE-1"), if_none_exist=criteria
        )

    results, errors = _run_concurrently(work)
    assert errors == []
    assert len(results) == THREADS
    assert Resource.objects.filter(resource_type="Patient").count() == 1
    assert sum(1 for r in results if r.created) == 1
    assert len({r.resource.resource_id for r in results}) == 1
    assert ConditionalCreateKey.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_updates_with_if_match_one_wins(postgres_only):
    created = store.create_resource("Patient", patient_body()).resource
    pid = created.resource_id

    def work():
        body = {**patient_body(family=f"T{threading.get_ident()}"), "id": pid}
        try:
            return store.update_resource("Patient", pid, body, if_match='W/"1"')
        except FhirError as error:
            return error.status

    results, errors = _run_concurrently(work)
    assert errors == []
    assert sum(1 for r in results if r == 412) == THREADS - 1
    assert Resource.objects.get(resource_id=pid).version_id == 2
    assert ResourceVersion.objects.filter(resource_id=pid).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_create_on_update_same_id(postgres_only):
    def work():
        return store.update_resource("Patient", "same-id", {**patient_body(), "id": "same-id"})

    results, errors = _run_concurrently(work)
    assert errors == []
    row = Resource.objects.get(resource_id="same-id")
    assert row.version_id == THREADS
    assert sum(1 for r in results if r.created) == 1
    assert sorted(
        ResourceVersion.objects.filter(current=row).values_list("version_id", flat=True)
    ) == list(range(1, THREADS + 1))
