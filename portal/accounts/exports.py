"""Download all my data: a registry of export parts that every app adds its part to.

An app that keeps data about a resident adds a module `account_data.py` beside its models
(found the way Django's admin finds `admin.py`) and registers a part there:

    from django.utils.translation import gettext_lazy as _
    from portal.accounts.exports import register_export_part

    @register_export_part("appointments", _("Clinic appointments"), order=40)
    def export_appointments(user, archive):
        archive.write_json("appointments/appointments.json", [...])

A part gets the user and an `Archive` and writes files under its own folder. It must read
only that user's data. Parts run in the background (portal.accounts.tasks), one after the
other, and the page shows how many are done. The service cases and card applications issue
adds its parts the same way.
"""

import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.module_loading import autodiscover_modules

MODULE_NAME = "account_data"

_parts = {}
_discovered = False


@dataclass(frozen=True)
class ExportPart:
    slug: str
    title: str
    build: object
    order: int = 100


def register_export_part(slug, title, order=100):
    """Decorator: `build(user, archive)` writes this part's files into the archive."""

    def decorator(build):
        _parts[slug] = ExportPart(slug, title, build, order)
        return build

    return decorator


def discover():
    global _discovered
    if not _discovered:
        autodiscover_modules(MODULE_NAME)
        _discovered = True


def export_parts():
    """Every app's parts, in order."""
    discover()
    return sorted(_parts.values(), key=lambda part: (part.order, part.slug))


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, datetime | date):
            return o.isoformat()
        return super().default(o)


class Archive:
    """The zip file being built; paths are relative to the archive's root."""

    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.names = []

    def write_bytes(self, name, data):
        self.zip.writestr(name, data)
        self.names.append(name)

    def write_text(self, name, text):
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name, data):
        self.write_text(name, json.dumps(data, cls=_Encoder, ensure_ascii=False, indent=2))

    def close(self):
        self.zip.close()
