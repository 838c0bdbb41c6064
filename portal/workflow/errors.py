"""The one error of the workflow: a transition that the table does not allow, that someone else
won first, that this person may not make, or that needs a reason. Views show `str(error)` (in
the active language); APIs answer `error.http_status` (409 for invalid and lost transitions)
with a JSON or OperationOutcome body (see http.py)."""

from django.utils.translation import gettext_lazy as _

INVALID, LOST, FORBIDDEN, REASON_REQUIRED = "invalid", "lost", "forbidden", "reason-required"
HTTP_STATUS = {INVALID: 409, LOST: 409, FORBIDDEN: 403, REASON_REQUIRED: 400}


class TransitionError(Exception):
    """A refused status change; nothing was written. `code` says why (invalid, lost,
    forbidden, reason-required); `message` is translated lazily. A workflow may name its own
    subclasses (with messages of its own) for invalid and lost transitions."""

    code = INVALID
    message = _("This cannot be done while it is “%(state)s”.")

    def __init__(self, message=None, *, code=None, **params):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.params = params
        # Not super(): an app's error may also derive from its own error class (booking's
        # NotActive is a BookingError too), whose __init__ takes a message.
        Exception.__init__(self, self.code)

    def __str__(self):
        text = str(self.message)
        return text % self.params if self.params and "%(" in text else text

    @property
    def http_status(self):
        return HTTP_STATUS.get(self.code, 409)


class TransitionLost(TransitionError):
    code = LOST
    message = _("Someone else changed this a moment ago: it is now “%(state)s”. Please check it.")


class TransitionForbidden(TransitionError):
    code = FORBIDDEN
    message = _("You may not make this change.")


class ReasonRequired(TransitionError):
    code = REASON_REQUIRED
    message = _("Give a reason for this change.")
