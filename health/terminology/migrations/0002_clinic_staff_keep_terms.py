"""Clinic staff keep the clinical terms: they may add, change, view and delete them."""

from django.db import migrations

ACTIONS = ["add", "change", "delete", "view"]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _ = Group.objects.get_or_create(name="Clinic staff")
    content_type, _ = ContentType.objects.get_or_create(app_label="terminology", model="term")
    for action in ACTIONS:
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=f"{action}_term",
            defaults={"name": f"Can {action} clinical term"},
        )
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Clinic staff").first()
    if group:
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="terminology")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("terminology", "0001_terms"),
        ("accounts", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
