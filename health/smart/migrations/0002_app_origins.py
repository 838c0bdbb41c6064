"""Apps registered before CORS (health/smart/cors.py) get the origins of their redirect URIs,
as registering or changing an app now sets them."""

from django.db import migrations

from health.smart.cors import origins_of


def fill_origins(apps, schema_editor):
    SmartApp = apps.get_model("smart", "SmartApp")
    for smart in SmartApp.objects.select_related("application"):
        application = smart.application
        application.allowed_origins = origins_of(application.redirect_uris)
        application.save(update_fields=["allowed_origins"])


class Migration(migrations.Migration):
    dependencies = [("smart", "0001_connected_apps")]

    operations = [migrations.RunPython(fill_origins, migrations.RunPython.noop)]
