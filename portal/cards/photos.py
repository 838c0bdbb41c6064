"""The card photo: checked by its content with Pillow (JPEG or PNG, whatever the file is
called), its size in bytes and its pixel dimensions, each refusal with a message that says
what is allowed."""

import warnings
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from PIL import Image, UnidentifiedImageError

# Pillow's format name → the type we store and serve.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


@dataclass(frozen=True)
class PhotoInfo:
    content_type: str
    width: int
    height: int


def limits():
    return {
        "max_bytes": int(getattr(settings, "CARDS_PHOTO_MAX_BYTES", 5 * 1024 * 1024)),
        "min_width": int(getattr(settings, "CARDS_PHOTO_MIN_WIDTH", 400)),
        "min_height": int(getattr(settings, "CARDS_PHOTO_MIN_HEIGHT", 500)),
        "max_width": int(getattr(settings, "CARDS_PHOTO_MAX_WIDTH", 4000)),
        "max_height": int(getattr(settings, "CARDS_PHOTO_MAX_HEIGHT", 5000)),
    }


def _refuse_format():
    return forms.ValidationError(
        _("This file is not a JPEG or PNG photo. Please upload a photo in one of those formats."),
        code="wrong_type",
    )


def check_photo(upload):
    """The photo's type and dimensions, or a ValidationError saying what is wrong. The file's
    name and the browser's declared type are not trusted: Pillow reads the content."""
    rules = limits()
    size = getattr(upload, "size", None) or 0
    if size > rules["max_bytes"]:
        raise forms.ValidationError(
            _("The photo is %(size)s; a photo can be at most %(limit)s."),
            code="too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(rules["max_bytes"])},
        )
    if size == 0:
        raise forms.ValidationError(_("The photo file is empty."), code="empty")
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, never decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as image:
                image_format = image.format
                width, height = image.size
                if image_format not in FORMATS:
                    raise _refuse_format()
                image.verify()  # a truncated or corrupt file fails here
    except forms.ValidationError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise _refuse_format() from None
    finally:
        upload.seek(0)
    if width < rules["min_width"] or height < rules["min_height"]:
        raise forms.ValidationError(
            _(
                "The photo is %(width)s × %(height)s pixels; it must be at least "
                "%(min_width)s × %(min_height)s pixels (width × height)."
            ),
            code="too_small",
            params={"width": width, "height": height, **rules},
        )
    if width > rules["max_width"] or height > rules["max_height"]:
        raise forms.ValidationError(
            _(
                "The photo is %(width)s × %(height)s pixels; it can be at most "
                "%(max_width)s × %(max_height)s pixels (width × height)."
            ),
            code="too_big",
            params={"width": width, "height": height, **rules},
        )
    return PhotoInfo(content_type=FORMATS[image_format], width=width, height=height)
