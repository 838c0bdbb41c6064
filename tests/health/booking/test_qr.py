"""The check-in code's QR image: a full QR Code that a counter's scanner or a phone camera
reads, on the appointment page and attached to the confirmation e-mail."""

import io
import re

from django.core import mail
from django.urls import reverse

import pytest
import segno
import zxingcpp
from PIL import Image

from health.booking import rules
from health.booking.qr import qr_png
from portal.notifications.models import Message, MessageAttachment
from portal.notifications.services import deliver_message

pytestmark = pytest.mark.django_db

QR_CODE = zxingcpp.BarcodeFormat.QRCode


def scanned(png):
    """What a scanner reads in a PNG: [(text, format)]."""
    return [(r.text, r.format) for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("code", ["K7Q2MX9P", "AAAAAAAA", "23456789", "Z" * 40])
def test_a_code_scans_as_a_full_qr_code_never_a_micro_one(code):
    # segno.make() would draw these short codes as Micro QR, which phone cameras do not read.
    assert scanned(qr_png(code)) == [(code, QR_CODE)]


@pytest.mark.parametrize("code", ["K7Q2MX9P", "Z" * 40])
def test_the_png_is_segnos_own_pixel_for_pixel(code):
    reference = io.BytesIO()
    segno.make_qr(code, error="m").save(reference, kind="png", scale=8)
    ours, theirs = (Image.open(io.BytesIO(data)) for data in (qr_png(code), reference.getvalue()))
    assert ours.size == theirs.size
    assert ours.convert("L").tobytes() == theirs.convert("L").tobytes()
    # Dark modules really are there: a blank image would be "equal" to nothing else.
    assert 0 in ours.convert("L").tobytes() and 255 in ours.convert("L").tobytes()


def test_the_confirmation_keeps_the_code_and_the_e_mail_carries_its_image(slot, resident):
    appointment = rules.book(resident, slot.pk)
    message = Message.objects.get(user=resident, kind="booking.booked")
    # Nothing is drawn while booking: the row keeps the code and the maker's name.
    row = MessageAttachment.objects.get(message=message, filename="check-in-code.png")
    assert (row.made_by, row.made_from, bytes(row.content)) == (
        "booking.check_in_qr",
        appointment.check_in_code,
        b"",
    )
    deliver_message(message.pk)
    [email] = [m for m in mail.outbox if resident.email in m.to]
    [(filename, png, mimetype)] = [a for a in email.attachments if a[0].endswith(".png")]
    assert (filename, mimetype) == ("check-in-code.png", "image/png")
    assert scanned(png) == [(appointment.check_in_code, QR_CODE)]


def test_the_appointment_page_shows_a_full_qr_code(resident_client, slot, resident):
    appointment = rules.book(resident, slot.pk)
    url = reverse("booking:appointment", args=[appointment.pk])
    page = resident_client.get(url).content.decode()
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    assert "<title>QR image of the check-in code</title>" in svg
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    # 6 pixels a module, 4 modules of quiet zone each side: a full QR Code is 21, 25, 29 ...
    # modules wide; a Micro QR Code 11 to 17.
    modules = width // 6 - 8
    assert modules >= 21 and (modules - 21) % 4 == 0
    expected = segno.make_qr(appointment.check_in_code, error="m").symbol_size(scale=6)[0]
    assert width == expected
