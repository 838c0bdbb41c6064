"""The transition tables of appointments and waitlist places (see portal/workflow). Every
status change of either goes through `portal.workflow.transition()` with one of these steps,
which writes the state with a conditional UPDATE, the history row, the notification and the
step's effects (a slot's place counters, offers to the waitlist) in one transaction.

Who may: RESIDENT is the person who booked (or waits); STAFF is clinic staff whose clinics
hold the slot (portal.scoping); SYSTEM is a job, a consequence of another change (a closure),
or another system (an API client, a check-in kiosk).
"""

from django.utils.translation import gettext_lazy as _

from portal.workflow import RESIDENT, STAFF, SYSTEM, Step, Workflow, register

from . import encounters, notifications, places, waitlists
from .errors import InvalidTransition, NotActive, OfferNotOpen
from .models import Appointment, AppointmentStatus, WaitlistEntry, WaitlistStatus

BOOKED = AppointmentStatus.BOOKED
CHECKED_IN = AppointmentStatus.CHECKED_IN
CANCELLED = AppointmentStatus.CANCELLED
NO_SHOW = AppointmentStatus.NO_SHOW
COMPLETED = AppointmentStatus.COMPLETED


def _slot(change):
    """The appointment's or entry's slot: the one the caller already holds (often locked)."""
    return change.context.get("slot") or change.obj.slot


# Effects: what a step does to the slot's counters and its waitlist, in the same transaction.
def take_place(change):
    """The capacity rule (one conditional UPDATE). Last of a booking, so the contended slot
    row stays locked only until the commit; losing rolls back the appointment and message."""
    slot = _slot(change)
    if not places.take_place(slot):
        raise places.why_not_taken(slot)


def release_place(change):
    places.release_place(_slot(change).pk)


def release_held_place(change):
    places.release_held_place(_slot(change).pk)


def offer_free_places(change):
    """A place given back goes to the first in line."""
    waitlists.offer_free_places(_slot(change).pk, now=change.at)


def record_encounter(change):
    encounters.record_encounter(change.obj)


APPOINTMENT = register(
    Workflow(
        Appointment,
        field="status",
        resident=lambda appointment: appointment.resident,
        notifier=notifications.for_transition,
        refused=InvalidTransition,
        steps=[
            Step(
                "book",
                source=[None],
                target=BOOKED,
                by={RESIDENT},
                label=_("Booked by the resident"),
                resident_text=_("Booked."),
                notify="booking.booked",
                effects=[take_place],
            ),
            Step(
                "accept_offer",
                source=[None],
                target=BOOKED,
                by={RESIDENT},
                label=_("Booked from the waitlist"),
                resident_text=_("Booked: you accepted a place offered from the waitlist."),
                notify="booking.booked",
            ),
            Step(
                "rebook",
                source=[None],
                target=BOOKED,
                by={RESIDENT},
                label=_("Booked by the resident, moved from another time"),
                resident_text=_("Booked: you moved your appointment to this time."),
                notify="booking.booked",
            ),
            Step(
                "cancel",
                source=[BOOKED],
                target=CANCELLED,
                by={RESIDENT},
                label=_("Cancelled by the resident"),
                resident_text=_("You cancelled this appointment."),
                notify="booking.cancelled",
                effects=[release_place, offer_free_places],
                refused=NotActive,
            ),
            Step(
                "cancel_by_clinic",
                source=[BOOKED],
                target=CANCELLED,
                by={STAFF, SYSTEM},
                label=_("Cancelled by the clinic"),
                resident_text=_("The clinic cancelled this appointment."),
                notify="booking.cancelled",
                effects=[release_place, offer_free_places],
                refused=NotActive,
            ),
            Step(
                "reschedule",
                source=[BOOKED],
                target=CANCELLED,
                by={RESIDENT},
                label=_("Moved to another time by the resident"),
                resident_text=_("You moved this appointment to another time."),
                effects=[release_place, offer_free_places],
                refused=NotActive,
            ),
            Step(
                "close",
                source=[BOOKED],
                target=CANCELLED,
                by={STAFF, SYSTEM},
                reason_required=True,
                label=_("Cancelled: the clinic closed this time"),
                resident_text=_("The clinic closed this time and cancelled the appointment."),
                notify="booking.closed",
                effects=[release_place],
                refused=NotActive,
            ),
            Step(
                "account_closed",
                source=[BOOKED],
                target=CANCELLED,
                by={RESIDENT, SYSTEM},
                label=_("Cancelled: the resident's account was closed"),
                effects=[release_place, offer_free_places],
                refused=NotActive,
            ),
            Step(
                "check_in",
                source=[BOOKED],
                target=CHECKED_IN,
                by={STAFF, SYSTEM},
                label=_("Checked in at the clinic"),
                resident_text=_("You checked in at the clinic."),
            ),
            Step(
                "no_show",
                source=[BOOKED],
                target=NO_SHOW,
                by={STAFF, SYSTEM},
                label=_("Marked as not attended"),
                resident_text=_("The clinic recorded that you did not come."),
            ),
            Step(
                "complete",
                source=[BOOKED, CHECKED_IN],
                target=COMPLETED,
                by={STAFF, SYSTEM},
                label=_("Visit completed"),
                resident_text=_("Your visit is completed."),
                effects=[record_encounter],
            ),
        ],
    )
)

WAITING = WaitlistStatus.WAITING
OFFERED = WaitlistStatus.OFFERED
EXPIRED = WaitlistStatus.EXPIRED
LEFT = WaitlistStatus.CANCELLED
TAKEN = WaitlistStatus.BOOKED

WAITLIST = register(
    Workflow(
        WaitlistEntry,
        field="status",
        resident=lambda entry: entry.resident,
        notifier=notifications.for_transition,
        refused=OfferNotOpen,
        steps=[
            Step(
                "join",
                source=[None],
                target=WAITING,
                by={RESIDENT},
                label=_("Joined the waitlist"),
                resident_text=_("You joined the waitlist."),
            ),
            Step(
                "offer",
                source=[WAITING],
                target=OFFERED,
                by={SYSTEM},
                label=_("A freed place was offered"),
                resident_text=_("A place came free and was offered to you."),
                notify="booking.offer",
            ),
            Step(
                "accept",
                source=[OFFERED],
                target=TAKEN,
                by={RESIDENT},
                label=_("Offer accepted"),
                resident_text=_("You accepted the place."),
            ),
            Step(
                "decline",
                source=[OFFERED],
                target=LEFT,
                by={RESIDENT},
                label=_("Offer declined"),
                resident_text=_("You turned the offered place down."),
                effects=[release_held_place, offer_free_places],
            ),
            Step(
                "leave",
                source=[WAITING],
                target=LEFT,
                by={RESIDENT},
                label=_("Left the waitlist"),
                resident_text=_("You left the waitlist."),
            ),
            Step(
                "expire",
                source=[OFFERED],
                target=EXPIRED,
                by={SYSTEM},
                label=_("Offer expired unanswered"),
                resident_text=_("The offer ran out before it was accepted."),
                notify="booking.offer_expired",
                effects=[release_held_place, offer_free_places],
            ),
            Step(
                "drop",
                source=[WAITING],
                target=LEFT,
                by={SYSTEM},
                label=_("Taken off the waitlist: can no longer take the place"),
                resident_text=_(
                    "Taken off the waitlist: you already have an appointment at this time, or "
                    "the person is no longer in your household."
                ),
            ),
            Step(
                "time_passed",
                source=[WAITING],
                target=EXPIRED,
                by={SYSTEM},
                label=_("Ended: the time has passed"),
                resident_text=_("The time passed without a place coming free."),
            ),
            Step(
                "slot_closed",
                source=[WAITING, OFFERED],
                target=EXPIRED,
                by={STAFF, SYSTEM},
                label=_("Ended: the clinic closed this time"),
                resident_text=_("The clinic closed this time, so the waitlist ended."),
                notify="booking.waitlist_closed",
            ),
            Step(
                "slot_withdrawn",
                source=[WAITING],
                target=EXPIRED,
                by={STAFF, SYSTEM},
                label=_("Ended: the schedule no longer has this time"),
                resident_text=_("The clinic's schedule no longer has this time."),
            ),
        ],
    )
)
