"""The application form: the photo checked by content (JPEG or PNG), size and pixel
dimensions, the ID number's checksum, each refusal with a message that says what is allowed."""

from django.core.files.uploadedfile import SimpleUploadedFile

import pytest

from portal.cards.forms import ApplicationForm
from portal.cards.photos import check_photo

from .factories import OfficeFactory, image_bytes, photo_upload

pytestmark = pytest.mark.django_db


def form_for(office, photo, **overrides):
    data = {
        "full_name": "Chan Tai Man",
        "date_of_birth": "1985-03-14",
        "id_number": "A123456(3)",
        "phone": "",
        "address": "",
        "collection_point": str(office.pk),
        **overrides,
    }
    files = {"photo": photo} if photo is not None else {}
    return ApplicationForm(data, files)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_good_jpeg_or_png_is_taken_with_its_type_and_size(image_format):
    office = OfficeFactory()
    form = form_for(office, photo_upload(image_format=image_format, name="me.bin"))
    assert form.is_valid(), form.errors
    assert form.photo_info.content_type == f"image/{image_format.lower()}"
    assert (form.photo_info.width, form.photo_info.height) == (480, 600)
    assert form.cleaned_data["id_number"] == "A1234563"


def test_an_oversize_photo_is_refused_with_the_limit(settings):
    settings.CARDS_PHOTO_MAX_BYTES = 10_000
    office = OfficeFactory()
    big = SimpleUploadedFile("big.jpg", image_bytes(2000, 2500) + b"\0" * 20_000, "image/jpeg")
    form = form_for(office, big)
    assert not form.is_valid()
    assert "at most 9.8\xa0KB" in form.errors["photo"][0]


@pytest.mark.parametrize(
    "content, name",
    [
        (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "photo.jpg"),
        (b"MZ\x90\x00" + b"\x00" * 200, "photo.png"),
        (image_bytes(480, 600, "GIF"), "photo.jpg"),
        (image_bytes(480, 600, "JPEG")[:300], "photo.jpg"),  # truncated
    ],
)
def test_a_file_that_is_not_a_jpeg_or_png_photo_is_refused(content, name):
    office = OfficeFactory()
    form = form_for(office, SimpleUploadedFile(name, content, "image/jpeg"))
    assert not form.is_valid()
    assert "not a JPEG or PNG photo" in form.errors["photo"][0]


def test_a_photo_too_small_or_too_large_in_pixels_says_the_limits():
    office = OfficeFactory()
    small = form_for(office, photo_upload(width=200, height=250))
    assert not small.is_valid()
    assert "200 × 250 pixels" in small.errors["photo"][0]
    assert "at least 400 × 500" in small.errors["photo"][0]
    large = form_for(office, photo_upload(width=4200, height=4800))
    assert not large.is_valid()
    assert "at most 4000 × 5000" in large.errors["photo"][0]


def test_a_decompression_bomb_is_refused_without_decoding(settings):
    from PIL import Image

    office = OfficeFactory()
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000  # the 480 × 600 test image now counts as a bomb
    try:
        form = form_for(office, photo_upload())
        assert not form.is_valid()
        assert "not a JPEG or PNG photo" in form.errors["photo"][0]
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def test_a_photo_is_required_unless_one_is_on_file():
    office = OfficeFactory()
    form = form_for(office, None)
    assert not form.is_valid() and "Upload a photo" in form.errors["photo"][0]
    data = form_for(office, None).data
    assert ApplicationForm(data, {}, photo_on_file=True).is_valid()


@pytest.mark.parametrize("number", ["A1234567", "A12345", "110101199003077578", "hello"])
def test_a_bad_id_checksum_is_refused(number):
    office = OfficeFactory()
    form = form_for(office, photo_upload(), id_number=number)
    assert not form.is_valid()
    assert "not a valid identity card number" in form.errors["id_number"][0]


def test_a_mainland_number_with_its_check_digit_is_taken():
    office = OfficeFactory()
    form = form_for(office, photo_upload(), id_number="11010519491231002X")
    assert form.is_valid(), form.errors


def test_check_photo_reads_content_not_the_declared_type():
    upload = SimpleUploadedFile("x.txt", image_bytes(480, 600, "PNG"), "text/plain")
    assert check_photo(upload).content_type == "image/png"
