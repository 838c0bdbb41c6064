"""Demo data for social security cards: Chan Tai-man's application waiting for the officer's
check at the District Service Centre, and Alex Wong's collected card (to try reporting it
lost). Loaded by `manage.py load_demo` after the cases demo made the offices (idempotent:
residents who already have an application are left alone)."""

import io
from datetime import date

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from PIL import Image, ImageDraw

from portal.cases.models import Office

from . import photos, services
from .models import CardApplication

RESIDENTS = [
    # e-mail, full name, date of birth, ID number (valid check digit), how far it gets
    ("chan.taiman@demo.district.example", "陳大文", date(1985, 3, 14), "A1234563", "submitted"),
    ("alex.wong@demo.district.example", "Alex Wong", date(1990, 7, 2), "C6683442", "collected"),
]


def demo_photo():
    """A plain portrait the size the checks ask for (a stand-in for a real photo)."""
    image = Image.new("RGB", (480, 600), (226, 232, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 110, 330, 330), fill=(150, 120, 100))
    draw.rectangle((110, 360, 370, 600), fill=(40, 70, 110))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    upload = SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")
    return upload, photos.check_photo(upload)


def load(stdout):
    User = get_user_model()
    office = Office.objects.filter(code="DSC").first()
    admin = User.objects.filter(is_superuser=True, email="admin@demo.district.example").first()
    if office is None or admin is None:
        stdout.write("Cards: no District Service Centre or administrator; skipped.")
        return
    made = 0
    for email, name, born, id_number, goal in RESIDENTS:
        resident = User.objects.filter(email=email).first()
        if resident is None or CardApplication.objects.filter(applicant=resident).exists():
            continue
        with transaction.atomic():
            data = {
                "full_name": name,
                "date_of_birth": born,
                "id_number": id_number,
                "phone": resident.profile.phone,
                "street": resident.profile.street,
                "address": "",
                "collection_point": office,
            }
            application = services.start(resident, data, demo_photo())
            services.submit(application, by=resident)
            if goal == "collected":
                services.approve(application, by=admin)
                batch = services.create_batch(office, [application], by=admin)
                services.mark_batch_ready(batch, by=admin)
                application.refresh_from_db()
                services.record_collection(application, by=admin)
        made += 1
    stdout.write(f"Cards: {made} demo card applications.")
