"""Attachments made when the e-mail is sent, not when the message is recorded.

Some files are fully decided by a short value the message can keep: the QR image of a check-in
code is the code, drawn. Drawing it while a resident waits for their booking to be confirmed
costs more than rendering the message's texts; the e-mail worker can draw it instead. An app
registers a maker under a dotted name in its `notification_kinds.py`:

    register_maker("booking.check_in_qr", qr_png)  # qr_png(code) -> bytes

and passes `Attachment("check-in-code.png", mimetype="image/png", made_by="booking.check_in_qr",
made_from=appointment.check_in_code)` to notify(). The maker must give the same bytes for the
same value whenever it is called: it runs each time the e-mail is sent (and may run again on a
retry), so anything that can change belongs in the content of an ordinary attachment.
"""

import re

__all__ = ["register_maker", "unregister_maker", "is_registered", "make", "UnknownMaker"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_makers = {}


class UnknownMaker(LookupError):
    """No maker of that name is registered (a typo, or the app that made it was removed)."""


def register_maker(name, make_bytes):
    if not _NAME.match(name) or len(name) > 64:
        raise ValueError(f"An attachment maker's name is dotted, app first, not {name!r}.")
    existing = _makers.get(name)
    if existing is not None and existing is not make_bytes:
        raise ValueError(f"The attachment maker {name!r} is registered twice.")
    _makers[name] = make_bytes
    return make_bytes


def unregister_maker(name):
    _makers.pop(name, None)


def is_registered(name):
    return name in _makers


def make(name, value):
    """The bytes the maker `name` makes of `value`."""
    try:
        make_bytes = _makers[name]
    except KeyError:
        raise UnknownMaker(f"No attachment maker {name!r} is registered.") from None
    content = make_bytes(value)
    if not isinstance(content, bytes):
        raise TypeError(f"The attachment maker {name!r} returned {type(content).__name__}.")
    return content
