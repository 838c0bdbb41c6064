"""The account links and the audit trail move from health.records down into the FHIR layer.

The tables are renamed, not copied: every link and audit row keeps its id, and the
records app's state drops the models in records/0002 without touching the database.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ACTIONS = [
    ("read", "viewed"),
    ("vread", "viewed an earlier version"),
    ("search", "searched"),
    ("history", "viewed the history"),
    ("create", "created"),
    ("update", "updated"),
    ("delete", "deleted"),
    ("export", "exported"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0002_version_patient_compartment"),
        ("records", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PatientLink",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("patient_id", models.CharField(max_length=64, verbose_name="patient id")),
                        ("linked_at", models.DateTimeField(auto_now_add=True, verbose_name="linked at")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="patient_links", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "records_patientlink",
                        "verbose_name": "patient link",
                        "verbose_name_plural": "patient links",
                        "indexes": [models.Index(fields=["patient_id"], name="records_link_patient")],
                        "constraints": [models.UniqueConstraint(fields=("user", "patient_id"), name="records_link_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("occurred_at", models.DateTimeField(db_index=True, verbose_name="when")),
                        ("actor", models.CharField(max_length=150, verbose_name="who")),
                        ("role", models.CharField(max_length=32, verbose_name="role")),
                        ("action", models.CharField(choices=ACTIONS, max_length=16, verbose_name="action")),
                        ("resource_type", models.CharField(blank=True, max_length=64, verbose_name="resource type")),
                        ("resource_id", models.CharField(blank=True, max_length=64, verbose_name="resource id")),
                        ("patient_id", models.CharField(blank=True, max_length=64, verbose_name="patient id")),
                        ("count", models.PositiveIntegerField(default=1)),
                        ("detail", models.CharField(blank=True, max_length=500, verbose_name="detail")),
                        ("token", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="fhir.apitoken")),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="user")),
                    ],
                    options={
                        "db_table": "records_auditevent",
                        "verbose_name": "audit event",
                        "verbose_name_plural": "audit events",
                        "ordering": ["-occurred_at", "-pk"],
                        "indexes": [models.Index(fields=["patient_id", "-occurred_at"], name="records_audit_patient")],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Now the tables take this app's names (a rename: the rows stay where they are).
        migrations.AlterModelTable(name="patientlink", table=None),
        migrations.AlterModelTable(name="auditevent", table=None),
        migrations.AddField(
            model_name="auditevent",
            name="app",
            field=models.CharField(blank=True, default="", max_length=150, verbose_name="app"),
        ),
    ]
