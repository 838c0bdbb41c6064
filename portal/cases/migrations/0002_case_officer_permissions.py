"""Case officers read the catalogue and work cases (which cases: their offices', see
services.offices_of); editing the catalogue stays with administrators."""

from django.db import migrations

PERMISSIONS = {
    "case": ["view", "change"],
    "office": ["view"],
    "service": ["view"],
}


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _created = Group.objects.get_or_create(name="Case officers")
    for model, actions in PERMISSIONS.items():
        content_type, _created = ContentType.objects.get_or_create(app_label="cases", model=model)
        for action in actions:
            permission, _created = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {model}"},
            )
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Case officers").first()
    if group:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="cases"))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("accounts", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
