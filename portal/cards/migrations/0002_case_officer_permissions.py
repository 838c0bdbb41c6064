"""Case officers work card applications, production batches and cards (which ones: those of
their offices, see scopes.py); they read the collection points' offices through the cases app."""

from django.db import migrations

PERMISSIONS = {
    "cardapplication": ["view", "change"],
    "productionbatch": ["view", "add", "change"],
    "card": ["view", "change"],
}


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    group, _created = Group.objects.get_or_create(name="Case officers")
    for model, actions in PERMISSIONS.items():
        content_type, _created = ContentType.objects.get_or_create(app_label="cards", model=model)
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
        group.permissions.remove(*group.permissions.filter(content_type__app_label="cards"))


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0001_initial"),
        ("accounts", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
