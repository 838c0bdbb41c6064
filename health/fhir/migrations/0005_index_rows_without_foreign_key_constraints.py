"""The search-index rows keep their resource's id without a foreign key constraint in the
database: checking one per index row at commit cost an import about a third of its time
(docs/benchmarks.md). store.py writes and removes index rows in the transaction of their
resource, and Django still cascades a Resource's deletion to them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0004_reindex_dates_in_server_time"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dateindex",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="fhir.resource",
            ),
        ),
        migrations.AlterField(
            model_name="quantityindex",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="fhir.resource",
            ),
        ),
        migrations.AlterField(
            model_name="referenceindex",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="fhir.resource",
            ),
        ),
        migrations.AlterField(
            model_name="stringindex",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="fhir.resource",
            ),
        ),
        migrations.AlterField(
            model_name="tokenindex",
            name="resource",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="fhir.resource",
            ),
        ),
    ]
