"""Moving the account links and the audit trail into health.fhir keeps every row."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

import pytest

BEFORE = [("fhir", "0002_version_patient_compartment"), ("records", "0001_initial")]
AFTER = [
    ("fhir", "0004_reindex_dates_in_server_time"),
    ("records", "0002_links_and_audit_moved_to_fhir"),
]


@pytest.mark.django_db(transaction=True)
def test_links_and_audit_rows_move_with_their_ids(back_to_latest):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    username = get_user_model().USERNAME_FIELD
    user = old.get_model(settings.AUTH_USER_MODEL).objects.create(**{username: "ann@example.org"})
    link = old.get_model("records", "PatientLink").objects.create(user_id=user.pk, patient_id="p-1")
    event = old.get_model("records", "AuditEvent").objects.create(
        occurred_at=timezone.now(),
        user_id=user.pk,
        actor="nurse",
        role="clinic-staff",
        action="read",
        resource_type="Patient",
        resource_id="p-1",
        patient_id="p-1",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    moved_link = new.get_model("fhir", "PatientLink").objects.get()
    moved_event = new.get_model("fhir", "AuditEvent").objects.get()
    assert (moved_link.pk, moved_link.user_id, moved_link.patient_id) == (link.pk, user.pk, "p-1")
    assert (moved_event.pk, moved_event.actor, moved_event.app) == (event.pk, "nurse", "")
    # New rows continue the old ids.
    later = new.get_model("fhir", "PatientLink").objects.create(user_id=user.pk, patient_id="p-2")
    assert later.pk > link.pk
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "fhir_patientlink" in tables and "records_patientlink" not in tables
