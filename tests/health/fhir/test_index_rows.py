"""The search-index rows: written with their resource, gone with it, and without a foreign
key constraint for the database to check row by row (the import's cost)."""

from django.db import connection

from health.fhir.models import (
    DateIndex,
    QuantityIndex,
    ReferenceIndex,
    Resource,
    StringIndex,
    TokenIndex,
)

from .conftest import observation_body, patient_body

INDEX_MODELS = (TokenIndex, StringIndex, DateIndex, ReferenceIndex, QuantityIndex)


def test_index_tables_have_no_foreign_key_constraint(db):
    with connection.cursor() as cursor:
        for model in INDEX_MODELS:
            table = model._meta.db_table
            constraints = connection.introspection.get_constraints(cursor, table)
            keys = [c for c in constraints.values() if c["foreign_key"]]
            assert keys == [], table


def test_deleting_a_resource_row_deletes_its_index_rows(staff_api, create):
    patient = create(patient_body())
    observation = create(observation_body(patient["id"]))
    row = Resource.objects.get(resource_type="Observation", resource_id=observation["id"])
    assert all(m.objects.filter(resource=row).exists() for m in (TokenIndex, DateIndex))
    assert ReferenceIndex.objects.filter(resource=row).exists()
    assert QuantityIndex.objects.filter(resource=row).exists()
    row.delete()
    assert not any(m.objects.filter(resource_id=row.pk).exists() for m in INDEX_MODELS)
    # The Patient's own rows are untouched.
    kept = Resource.objects.get(resource_type="Patient", resource_id=patient["id"])
    assert StringIndex.objects.filter(resource=kept).exists()
