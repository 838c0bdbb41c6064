"""The resident's side of clinic booking. Plain forms and links, so every step works on a
phone without JavaScript. Rules live in rules.py, waitlists.py and household.py; a broken
rule becomes a message."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.workflow import history

from . import conf, errors, household, ics, places, rules, selectors, waitlists
from .forms import CancelForm, DependantForm, PersonForm
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Clinic,
    Dependant,
    Service,
    WaitlistEntry,
    WaitlistStatus,
)
from .qr import qr_svg


def _service_or_404(code):
    return get_object_or_404(Service, code=code, is_active=True)


def _own_appointment(request, pk):
    """Another resident's appointment is a 404: its existence is not ours to reveal."""
    return get_object_or_404(
        Appointment.objects.select_related(
            "slot__clinic", "slot__service", "slot__practitioner", "dependant", "resident__profile"
        ),
        pk=pk,
        resident=request.user,
    )


def _slot_or_redirect(request, slot_id, *, own_booking=False, person=None):
    """The slot with its clinic, service and practitioner, or a redirect. With `own_booking`,
    also `slot.own_booking` (places.slot_for_booking)."""
    slot = places.slot_for_booking(slot_id, request.user if own_booking else None, person)
    if slot is None or not slot.clinic.is_active or not slot.service.is_active:
        messages.error(request, str(errors.SlotNotFound()))
        return None, redirect("booking:index")
    return slot, None


def _clinic_days_url(slot, day=None):
    url = reverse("booking:clinic_days", args=[slot.clinic_id, slot.service.code])
    return f"{url}?day={(day or timezone.localdate(slot.start)).isoformat()}"


@login_required
def index(request):
    """Step 1: choose a service."""
    upcoming = list(selectors.upcoming_for(request.user)[:3])
    return render(
        request,
        "booking/index.html",
        {"services": Service.objects.filter(is_active=True), "upcoming": upcoming},
    )


@login_required
def clinics(request, service):
    """Step 2: clinics offering the service, nearest (or soonest) first."""
    service = _service_or_404(service)
    order = "soonest" if request.GET.get("order") == "soonest" else "distance"
    results = selectors.clinics_for_service(service, request.user, order=order)
    return render(
        request,
        "booking/clinics.html",
        {
            "service": service,
            "results": results,
            "order": order,
            "has_home": selectors.home_point(request.user) is not None,
        },
    )


def _my_appointments_in(user, slots):
    """{slot id: appointment id} of the resident's active appointments among these slots."""
    return dict(
        Appointment.objects.filter(
            resident=user, status__in=ACTIVE_STATUSES, slot__in=[s.pk for s in slots]
        ).values_list("slot_id", "pk")
    )


def _calendar(calendar, selected):
    """Two Monday-to-Sunday weeks from the selected day's week, for a compact phone calendar.
    Each day is `(day, free places, state)`: state "free", "full" (open times, none free),
    "closed" (no open times: the clinic is closed then) or None outside the booking window,
    where free is None too. Earlier/later page by two weeks."""
    days = [(day, free) for day, free, _open in calendar]
    free = dict(days)
    open_days = {day for day, _free, is_open in calendar if is_open}

    def state(day):
        if day not in free:
            return None
        if free[day]:
            return "free"
        return "full" if day in open_days else "closed"

    monday = selected - timedelta(days=selected.weekday())
    weeks = [
        [
            (day, free.get(day), state(day))
            for day in (monday + timedelta(days=7 * week + i) for i in range(7))
        ]
        for week in range(2)
    ]
    first, last = days[0][0], days[-1][0]
    earlier = max(first, monday - timedelta(days=14)) if first < monday else None
    later = monday + timedelta(days=14) if last >= monday + timedelta(days=14) else None
    return {"weeks": weeks, "earlier_day": earlier, "later_day": later}


def _parse_day(value, days, default=None):
    """The day asked for if it is in the window; else `default` if it is; else the first day
    with a free place (or the first day)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        day = None
    valid = {d for d, _count in days}
    for candidate in (day, default):
        if candidate in valid:
            return candidate
    return next((d for d, count in days if count), days[0][0])


@login_required
def clinic_days(request, clinic_id, service):
    """Step 3: pick a day, then a time. Full times offer the waitlist."""
    service = _service_or_404(service)
    clinic = get_object_or_404(Clinic, pk=clinic_id, is_active=True, services=service)
    calendar = selectors.calendar_days(clinic, service)
    days = [(d, free) for d, free, _open in calendar]
    day = _parse_day(request.GET.get("day"), days)
    if request.GET.get("day") and request.GET.get("day") != day.isoformat():
        messages.warning(
            request,
            _("Bookings are open from today for %(days)s days. Choose a day in that window.")
            % {"days": conf.horizon_days()},
        )
    slots = selectors.day_slots(clinic, service, day)
    return render(
        request,
        "booking/clinic_days.html",
        {
            "clinic": clinic,
            "service": service,
            **_calendar(calendar, day),
            "day": day,
            "slots": slots,
            "mine": _my_appointments_in(request.user, slots),
            "reschedule": None,
        },
    )


@login_required
def book(request, slot_id):
    """Step 4: confirm who it is for, then book."""
    posted = request.method == "POST"
    slot, response = _slot_or_redirect(
        request, slot_id, own_booking=posted, person=request.POST.get("person")
    )
    if response:
        return response
    if posted and slot.free <= 0:
        # Most attempts in a rush find the slot full: answer before the household is read for
        # the form, as rules.book would (its other rules first, then "full"), with the
        # resident's own booking read with the slot (a double submit shows it).
        try:
            places.check_slot_bookable(slot)
        except errors.REFUSALS as error:
            messages.error(request, str(error))
            return redirect(_clinic_days_url(slot))
        if slot.own_booking is not None:
            return _show_booked(request, slot.own_booking)
        return _full(request, slot)
    form = PersonForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        dependant = form.dependant
        try:
            appointment = rules.book(request.user, slot, dependant=dependant)
        except (errors.Overlapping, errors.SlotFull) as error:
            # A double submit (or a second tab) finds the booking already made (perhaps the
            # place that filled the slot): show it instead of the error.
            person = str(dependant.pk) if dependant else "self"
            existing = _already_booked(request, slot, person)
            if existing:
                return existing
            if isinstance(error, errors.SlotFull):
                return _full(request, slot)
            form.add_error(None, str(error))
        except (
            errors.SlotClosed,
            errors.SlotInPast,
            errors.BeyondHorizon,
            errors.SlotNotFound,
        ) as error:
            messages.error(request, str(error))
            return redirect(_clinic_days_url(slot))
        except errors.REFUSALS as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Your appointment is booked. We have sent you a confirmation.")
            )
            return redirect("booking:appointment", appointment.pk)
    elif request.method != "POST":
        # Say at once why this time cannot be booked, before the resident fills anything in.
        try:
            places.check_slot_bookable(slot)
            if slot.free <= 0:
                raise errors.SlotFull()
        except errors.REFUSALS as error:
            messages.error(request, str(error))
            return redirect(_clinic_days_url(slot))
    return render(request, "booking/book.html", {"slot": slot, "form": form})


def _already_booked(request, slot, person):
    """The redirect to the resident's active appointment in `slot` for `person`, or None."""
    lookup = places.person_lookup(person)
    if lookup is None:
        return None
    existing = places.active_appointments(request.user, slot=slot, **lookup).only("pk").first()
    return _show_booked(request, existing.pk) if existing is not None else None


def _show_booked(request, pk):
    messages.info(request, _("This appointment is already booked."))
    return redirect("booking:appointment", pk)


def _full(request, slot):
    messages.error(request, str(errors.SlotFull()))
    return redirect(_clinic_days_url(slot))


@login_required
def waitlist_join(request, slot_id):
    slot, response = _slot_or_redirect(request, slot_id)
    if response:
        return response
    form = PersonForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            waitlists.join_waitlist(request.user, slot.pk, dependant=form.dependant)
        except errors.SlotNotFull as error:
            messages.info(request, str(error))
            return redirect("booking:book", slot.pk)
        except (errors.SlotClosed, errors.SlotInPast, errors.BeyondHorizon) as error:
            messages.error(request, str(error))
            return redirect(_clinic_days_url(slot))
        except errors.REFUSALS as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("You are on the waitlist. If a place frees up we will offer it to you."),
            )
            return redirect("booking:waitlist")
    return render(request, "booking/waitlist_join.html", {"slot": slot, "form": form})


@login_required
def appointments(request):
    now = timezone.now()
    return render(
        request,
        "booking/appointments.html",
        {
            "upcoming": selectors.upcoming_for(request.user, now=now),
            "past": selectors.past_for(request.user, now=now)[:50],
            "offers": WaitlistEntry.objects.filter(
                resident=request.user, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
            ).select_related("slot__clinic", "slot__service", "dependant"),
        },
    )


@login_required
def appointment(request, pk):
    appointment = _own_appointment(request, pk)
    now = timezone.now()
    return render(
        request,
        "booking/appointment.html",
        {
            "appointment": appointment,
            "slot": appointment.slot,
            "qr": qr_svg(appointment.check_in_code, _("QR image of the check-in code"))
            if appointment.is_active
            else "",
            "can_cancel": rules.can_cancel(appointment, now),
            "can_reschedule": rules.can_reschedule(appointment, now),
            "history": history.timeline(appointment),
            "moved_to": Appointment.objects.filter(rescheduled_from=appointment).only("pk").first(),
        },
    )


@login_required
def appointment_ics(request, pk):
    appointment = _own_appointment(request, pk)
    body = ics.appointment_ics(
        appointment, cancelled=appointment.status == AppointmentStatus.CANCELLED
    )
    response = HttpResponse(body, content_type=f"{ics.ICS_MIMETYPE}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ics.ics_filename(appointment)}"'
    return response


@login_required
def cancel(request, pk):
    appointment = _own_appointment(request, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            rules.cancel(appointment, by=request.user, reason=form.cleaned_data["reason"])
        except errors.REFUSALS as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("The appointment is cancelled. We have sent you a confirmation.")
            )
        return redirect("booking:appointment", appointment.pk)
    try:
        rules.APPOINTMENT.check(appointment, "cancel")
    except errors.REFUSALS as error:
        messages.error(request, str(error))
        return redirect("booking:appointment", appointment.pk)
    return render(
        request,
        "booking/cancel.html",
        {"appointment": appointment, "slot": appointment.slot, "form": form},
    )


@login_required
def reschedule(request, pk):
    """Pick a new time at the same clinic for the same service; POST moves the appointment."""
    appointment = _own_appointment(request, pk)
    slot = appointment.slot
    try:
        rules.APPOINTMENT.check(appointment, "reschedule")
    except errors.REFUSALS as error:
        messages.error(request, str(error))
        return redirect("booking:appointment", appointment.pk)
    if request.method == "POST":
        try:
            new = rules.reschedule(appointment, request.POST.get("slot"))
        except errors.REFUSALS as error:
            messages.error(request, str(error))
            return redirect(reverse("booking:reschedule", args=[appointment.pk]))
        messages.success(
            request, _("Your appointment has been moved. We have sent you a new confirmation.")
        )
        return redirect("booking:appointment", new.pk)
    calendar = selectors.calendar_days(slot.clinic, slot.service)
    days = [(d, free) for d, free, _open in calendar]
    # The picker opens on the day of the current appointment: most moves are within a day or
    # two of it, and the resident sees their own time there.
    day = _parse_day(request.GET.get("day"), days, default=timezone.localdate(appointment.start))
    slots = selectors.day_slots(slot.clinic, slot.service, day)
    return render(
        request,
        "booking/clinic_days.html",
        {
            "clinic": slot.clinic,
            "service": slot.service,
            **_calendar(calendar, day),
            "day": day,
            "slots": slots,
            "mine": _my_appointments_in(request.user, slots),
            "reschedule": appointment,
        },
    )


ALREADY_IN_HOUSEHOLD = gettext_lazy("%(name)s is already in your household.")


def _same_dependant(user, name, date_of_birth):
    """The resident's active dependant with this name and date of birth, if there is one."""
    return selectors.dependants_of(user).filter(name=name, date_of_birth=date_of_birth).first()


@login_required
def dependants(request):
    form = DependantForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        dependant = form.save(commit=False)
        dependant.owner = request.user
        # A double submit (or a second tab) must not add the same person twice. The unique
        # constraint settles a race between the check and the INSERT the same way.
        duplicate = _same_dependant(request.user, dependant.name, dependant.date_of_birth)
        if duplicate is None:
            try:
                with transaction.atomic():
                    dependant.save()
            except IntegrityError:
                duplicate = (
                    selectors.dependants_of(request.user)
                    .filter(name=dependant.name, date_of_birth=dependant.date_of_birth)
                    .first()
                )
                if duplicate is None:
                    raise
        if duplicate is not None:
            messages.info(request, ALREADY_IN_HOUSEHOLD % {"name": dependant.name})
            return redirect("booking:dependants")
        messages.success(
            request, _("%(name)s has been added to your household.") % {"name": dependant.name}
        )
        return redirect("booking:dependants")
    return render(
        request,
        "booking/dependants.html",
        {"dependants": selectors.dependants_of(request.user), "form": form},
    )


@login_required
@require_POST
def dependant_remove(request, pk):
    dependant = get_object_or_404(Dependant, pk=pk, owner=request.user, is_active=True)
    try:
        household.remove_dependant(dependant)
    except errors.REFUSALS as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(name)s has been removed from your household.") % {"name": dependant.name}
        )
    return redirect("booking:dependants")


@login_required
def waitlist(request):
    entries = (
        WaitlistEntry.objects.select_related("slot__clinic", "slot__service", "dependant")
        .filter(resident=request.user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
        .order_by("slot__start")
    )
    return render(request, "booking/waitlist.html", {"entries": entries, "now": timezone.now()})


def _waitlist_action(request, pk, action):
    try:
        result = action(request.user, pk)
    except WaitlistEntry.DoesNotExist:
        raise Http404 from None
    except errors.REFUSALS as error:
        messages.error(request, str(error))
        return None
    return result


@login_required
@require_POST
def waitlist_accept(request, pk):
    appointment = _waitlist_action(request, pk, waitlists.accept_offer)
    if appointment is None:
        return redirect("booking:waitlist")
    messages.success(request, _("The place is yours: your appointment is booked."))
    return redirect("booking:appointment", appointment.pk)


@login_required
@require_POST
def waitlist_leave(request, pk):
    if _waitlist_action(request, pk, waitlists.leave_waitlist) is not None:
        messages.success(request, _("You have left the waitlist."))
    return redirect("booking:waitlist")
