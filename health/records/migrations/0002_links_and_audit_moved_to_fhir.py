"""PatientLink and AuditEvent now belong to health.fhir (fhir/0003 renamed their tables);
this only removes them from the records app's state."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("fhir", "0003_patientlink_auditevent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="PatientLink"),
                migrations.DeleteModel(name="AuditEvent"),
            ],
            database_operations=[],
        ),
    ]
