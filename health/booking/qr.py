"""The QR image of a check-in code, the one the clinic counter scans: inline SVG on the
appointment page, PNG attached to the confirmation e-mail. Made here, offline, by segno.

Always a full QR Code with its four-module quiet zone. segno.make() would pick the smaller Micro
QR Code for a short code such as ours, which phone cameras and most counter scanners do not
read; make_qr() never does, and raises the error correction as far as the size allows.
"""

import io
from functools import lru_cache

import segno
from PIL import Image


def check_in_qr(code):
    """The QR Code (segno's) of a check-in code."""
    return segno.make_qr(code, error="m")


# A code never changes and drawing it costs milliseconds (segno scores eight masks in Python):
# each process keeps the latest images, for a resident who opens their appointment again.
@lru_cache(maxsize=512)
def qr_svg(code, title, scale=6):
    """The code as an inline SVG image with a <title> for screen readers."""
    return check_in_qr(code).svg_inline(scale=scale, title=title, omitsize=True)


@lru_cache(maxsize=512)
def qr_png(code, scale=8):
    """The code as a black-and-white PNG, `scale` pixels a module. segno makes the code, Pillow
    scales and encodes the image in C (segno's own PNG writer loops over every pixel in
    Python); the pixels are the same as segno's."""
    qr = check_in_qr(code)
    size = qr.symbol_size(scale=1)[0]
    modules = qr.matrix_iter(scale=1)
    image = Image.frombytes("L", (size, size), bytes(0 if d else 255 for r in modules for d in r))
    image = image.convert("1").resize((size * scale, size * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
