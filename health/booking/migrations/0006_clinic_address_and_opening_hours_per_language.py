"""Clinic address and opening hours in each interface language (zh-Hant, zh-Hans, en).

The single-language value moves into the Traditional Chinese field: that field is the one
every language falls back to (see `Clinic`), so every reader keeps seeing exactly what they saw
before. When the old text has no Chinese characters at all it is evidently English (the demo
data and the old help text's example were), so it is copied into the English field as well:
an English reader then reads an English text that is marked as such, and the admin shows the
Chinese fields, not the English one, as the translation still to be written. Text with Chinese
characters is left out of English; the blank English field falls back to it.

Reversing keeps the Traditional Chinese text (the one that was always filled) and, for opening
hours, the English text when there is no Chinese one.
"""

import re

from django.db import migrations, models

# CJK ideographs (with extensions A and compatibility), CJK punctuation, full-width forms.
CHINESE = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def is_english(text):
    return bool(text.strip()) and not CHINESE.search(text)


def split_languages(apps, schema_editor):
    Clinic = apps.get_model("booking", "Clinic")
    for clinic in Clinic.objects.all().iterator():
        clinic.address_zh_hant = clinic.address
        clinic.opening_hours_zh_hant = clinic.opening_hours
        if is_english(clinic.address):
            clinic.address_en = clinic.address
        if is_english(clinic.opening_hours):
            clinic.opening_hours_en = clinic.opening_hours
        clinic.save(
            update_fields=[
                "address_zh_hant",
                "address_en",
                "opening_hours_zh_hant",
                "opening_hours_en",
            ]
        )


def join_languages(apps, schema_editor):
    Clinic = apps.get_model("booking", "Clinic")
    for clinic in Clinic.objects.all().iterator():
        clinic.address = clinic.address_zh_hant
        clinic.opening_hours = clinic.opening_hours_zh_hant or clinic.opening_hours_en
        clinic.save(update_fields=["address", "opening_hours"])


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_dependant_booking_dependant_unique_active"),
    ]

    operations = [
        migrations.AddField(
            model_name="clinic",
            name="address_zh_hant",
            field=models.CharField(
                default="", max_length=200, verbose_name="address (Traditional Chinese)"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="clinic",
            name="address_zh_hans",
            field=models.CharField(
                blank=True,
                help_text="Leave empty to show the Traditional Chinese text.",
                max_length=200,
                verbose_name="address (Simplified Chinese)",
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="address_en",
            field=models.CharField(
                blank=True,
                help_text="Leave empty to show the Traditional Chinese text.",
                max_length=200,
                verbose_name="address (English)",
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="opening_hours_zh_hant",
            field=models.TextField(
                blank=True,
                help_text="As residents should read it, e.g. Mon–Fri 9:00–17:00.",
                verbose_name="opening hours (Traditional Chinese)",
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="opening_hours_zh_hans",
            field=models.TextField(
                blank=True,
                help_text="Leave empty to show the Traditional Chinese text.",
                verbose_name="opening hours (Simplified Chinese)",
            ),
        ),
        migrations.AddField(
            model_name="clinic",
            name="opening_hours_en",
            field=models.TextField(
                blank=True,
                help_text="Leave empty to show the Traditional Chinese text.",
                verbose_name="opening hours (English)",
            ),
        ),
        migrations.RunPython(split_languages, join_languages, elidable=False),
        # Blank-able before it goes, so that reversing can add the column back to existing rows
        # (with "" until join_languages fills it); a state-only change, no SQL.
        migrations.AlterField(
            model_name="clinic",
            name="address",
            field=models.CharField(blank=True, max_length=200, verbose_name="address"),
        ),
        migrations.RemoveField(model_name="clinic", name="address"),
        migrations.RemoveField(model_name="clinic", name="opening_hours"),
    ]
