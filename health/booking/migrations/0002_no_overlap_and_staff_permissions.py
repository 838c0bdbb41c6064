"""Database rules Django's model layer cannot express portably, and the clinic staff role.

No overlapping appointments for one person: on PostgreSQL an exclusion constraint over
(resident, dependant or 0, [start, end)) for active appointments. We chose the constraint over
relying only on a row lock because it also holds for any writer that bypasses services.py
(a data fix, an import, a future API); services.book() still locks the resident's row first,
which serialises one resident's bookings, gives a clear message instead of an IntegrityError,
and is what protects the embedded SQLite default (SQLite serialises writers anyway).
btree_gist is needed so plain integer equality can sit in a GiST index beside the range.
"""

from django.db import migrations

EXCLUSION_SQL = """
ALTER TABLE booking_appointment ADD CONSTRAINT booking_appointment_no_overlap
EXCLUDE USING gist (
    resident_id WITH =,
    (COALESCE(dependant_id, 0)) WITH =,
    tstzrange(start, "end", '[)') WITH &&
) WHERE (status IN ('booked', 'checked_in'))
"""

STAFF_PERMISSIONS = {
    "clinic": ["change", "view"],
    "practitioner": ["add", "change", "delete", "view"],
    "schedulerule": ["add", "change", "delete", "view"],
    "closure": ["add", "change", "view"],
    "slot": ["change", "view"],
    "appointment": ["change", "view"],
    "service": ["view"],
}


def add_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(EXCLUSION_SQL)


def drop_exclusion(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS booking_appointment_no_overlap"
    )


def grant_staff(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _ = Group.objects.get_or_create(name="Clinic staff")
    for model, actions in STAFF_PERMISSIONS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label="booking", model=model)
        for action in actions:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {model}"},
            )
            group.permissions.add(permission)


def revoke_staff(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Clinic staff").first()
    if group:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="booking"))


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_initial"),
        ("accounts", "0002_staff_groups"),
    ]

    operations = [
        migrations.RunPython(add_exclusion, drop_exclusion),
        migrations.RunPython(grant_staff, revoke_staff),
    ]
