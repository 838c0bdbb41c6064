"""Dates and times without an offset are now read in the server's time zone (FHIR's search
rule), in the index as in search values; before, the index read them as UTC. The date index
rows of every stored resource are computed again with the current rules."""

import json

from django.db import migrations

CHUNK = 2000


def reindex_dates(apps, schema_editor):
    from health.fhir import searchparams as sp

    Resource = apps.get_model("fhir", "Resource")
    DateIndex = apps.get_model("fhir", "DateIndex")
    types = [t for t, params in sp.SEARCH_PARAMS.items() if any(d[0] == sp.DATE for d in params.values())]
    last = 0
    while True:
        rows = list(
            Resource.objects.filter(pk__gt=last, resource_type__in=types, deleted=False)
            .exclude(body=None)
            .order_by("pk")
            .values_list("pk", "resource_type", "body")[:CHUNK]
        )
        if not rows:
            break
        last = rows[-1][0]
        DateIndex.objects.filter(resource_id__in=[pk for pk, _t, _b in rows]).delete()
        fresh = []
        for pk, resource_type, body in rows:
            for param, start, end in sp.extract_index(resource_type, json.loads(body))[sp.DATE]:
                fresh.append(
                    DateIndex(
                        resource_id=pk, resource_type=resource_type, param=param, start=start, end=end
                    )
                )
        DateIndex.objects.bulk_create(fresh, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("fhir", "0003_patientlink_auditevent")]

    operations = [migrations.RunPython(reindex_dates, migrations.RunPython.noop, elidable=True)]
