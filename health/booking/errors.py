"""Why booking says no: every refusal is a `BookingError` subclass carrying a translated
message for the person who caused it. Nothing is changed when one is raised (each rule is
one transaction). The refusals of a status change (NotActive, OfferNotOpen,
InvalidTransition) are also the workflow's TransitionError: the transition tables in
workflows.py name them, so views and APIs treat them like any refused transition."""

from django.utils.translation import gettext_lazy as _

from portal.workflow import TransitionError


class BookingError(Exception):
    """A rule said no. `message` is translated lazily, in whatever language is active."""

    code = "invalid"
    message = _("This could not be done. Please try again.")

    def __init__(self, message=None, **params):
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.code)

    def __str__(self):
        return str(self.message) % self.params if self.params else str(self.message)


# What views catch to turn a refusal into a message: a rule's, or a refused status change.
REFUSALS = (BookingError, TransitionError)


class SlotNotFound(BookingError):
    code = "not-found"
    message = _("This time is not available for booking. Please choose another time.")


class SlotFull(BookingError):
    code = "full"
    message = _("This time is fully booked. Choose another time or join the waitlist.")


class SlotClosed(BookingError):
    code = "closed"
    message = _("The clinic has closed this time. Please choose another time.")


class SlotInPast(BookingError):
    code = "past"
    message = _("This time has already passed. Please choose a later time.")


class BeyondHorizon(BookingError):
    code = "horizon"
    message = _("Bookings open %(days)s days ahead. Please choose an earlier day.")


class TooManyUpcoming(BookingError):
    code = "limit"
    message = _(
        "%(name)s already has %(limit)s upcoming appointments, the most allowed. "
        "Cancel one before booking another."
    )


class Overlapping(BookingError):
    code = "overlap"
    message = _("%(name)s already has an appointment at this time.")


class CutoffPassed(BookingError):
    code = "cutoff"
    message = _(
        "This appointment can only be changed online until %(hours)s hours before it. "
        "Please phone the clinic on %(phone)s."
    )


class NotActive(TransitionError, BookingError):
    code = "not-active"
    message = _("This appointment is no longer active, so it cannot be changed.")


class SameSlot(BookingError):
    code = "same-slot"
    message = _("This is already the time of your appointment. Choose a different time.")


class DifferentService(BookingError):
    code = "different-service"
    message = _("An appointment can only be moved to another time for the same service.")


class DifferentClinic(BookingError):
    code = "different-clinic"
    message = _(
        "An appointment can only be moved to another time at the same clinic. "
        "To go to another clinic, cancel this appointment and book there."
    )


class SlotNotFull(BookingError):
    code = "not-full"
    message = _("This time still has free places. You can book it directly.")


class AlreadyWaiting(BookingError):
    code = "already-waiting"
    message = _("%(name)s is already on the waitlist for this time.")


class TooManyWaiting(BookingError):
    code = "waitlist-limit"
    message = _(
        "%(name)s is already waiting for %(limit)s clinic times, the most allowed. "
        "Leave one of those waitlists first."
    )


class OfferNotOpen(TransitionError, BookingError):
    code = "offer-closed"
    message = _("This offer has expired or was already answered.")


class CodeNotFound(BookingError):
    code = "code-not-found"
    message = _("No appointment at this clinic has the check-in code %(code)s.")


class WrongDay(BookingError):
    code = "wrong-day"
    message = _("This appointment is on %(date)s, not today.")


class AlreadyCheckedIn(BookingError):
    code = "already-checked-in"
    message = _("%(name)s is already checked in.")


class InvalidTransition(TransitionError, BookingError):
    code = "transition"
    message = _("An appointment that is “%(state)s” cannot be changed like this.")


class TooEarly(BookingError):
    code = "too-early"
    message = _("An appointment cannot be marked as missed before its start time.")


class NotYetDay(BookingError):
    code = "not-yet-day"
    message = _("A visit can be marked as completed only on or after its day.")


class CapacityTooLow(BookingError):
    code = "capacity"
    message = _("Capacity cannot be lower than the %(taken)s places already booked or offered.")


class DependantNotFound(BookingError):
    code = "dependant"
    message = _("Choose someone from your household list.")
