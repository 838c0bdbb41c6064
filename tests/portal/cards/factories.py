"""Factories for social security cards: photos, applications in any state, officers."""

import io
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile

from PIL import Image

from portal.cards import photos, services
from tests.factories import StaffFactory, UserFactory, with_totp
from tests.portal.cases.factories import OfficeFactory

VALID_ID = "A1234563"  # HKID with its check digit
OTHER_VALID_ID = "C6683442"


def image_bytes(width=480, height=600, image_format="JPEG"):
    image = Image.new("RGB", (width, height), (200, 180, 160))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def photo_upload(width=480, height=600, image_format="JPEG", name="photo.jpg"):
    content_type = "image/png" if image_format == "PNG" else "image/jpeg"
    return SimpleUploadedFile(name, image_bytes(width, height, image_format), content_type)


def checked_photo(**kwargs):
    upload = photo_upload(**kwargs)
    return upload, photos.check_photo(upload)


def application_data(office, **overrides):
    return {
        "full_name": "Chan Tai Man",
        "date_of_birth": date(1985, 3, 14),
        "id_number": VALID_ID,
        "phone": "",
        "street": None,
        "address": "Flat 3, 2/F",
        "collection_point": office,
        **overrides,
    }


def officer_of(*offices):
    """A case officer (with TOTP, as the admin requires) working for `offices`."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    from portal.accounts import roles

    # A transactional test's flush empties the tables the data migrations filled.
    importlib.import_module("portal.cards.migrations.0002_case_officer_permissions").grant(
        apps, None
    )
    Group.objects.get_or_create(name=roles.CASE_OFFICERS)[0].permissions.add(
        Permission.objects.get(codename="access_admin")
    )
    officer = with_totp(StaffFactory(case_officer=True))
    for office in offices:
        office.officers.add(officer)
    return officer


def draft(resident=None, office=None, **overrides):
    resident = resident or UserFactory()
    office = office or OfficeFactory()
    return services.start(resident, application_data(office, **overrides), checked_photo())


def submitted(resident=None, office=None, **overrides):
    application = draft(resident, office, **overrides)
    services.submit(application, by=application.applicant)
    return application


def approved(officer, resident=None, office=None):
    application = submitted(resident, office)
    services.approve(application, by=officer)
    return application


def ready(officer, resident=None, office=None):
    application = approved(officer, resident, office)
    batch = services.create_batch(application.collection_point, [application], by=officer)
    services.mark_batch_ready(batch, by=officer)
    application.refresh_from_db()
    return application


def collected(officer, resident=None, office=None):
    application = ready(officer, resident, office)
    services.record_collection(application, by=officer)
    application.refresh_from_db()
    return application


__all__ = ["OTHER_VALID_ID", "OfficeFactory", "UserFactory"]
