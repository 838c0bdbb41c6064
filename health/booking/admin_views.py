"""The clinic's day in the Wagtail admin: who is coming, check-in by code, no-show, completed."""

import re
from datetime import date, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail.admin.menu import MenuItem

from portal import scoping
from portal.workflow import history

from . import conf, errors, rules, schedules, selectors
from .forms import CheckInForm, CloseSlotForm, SlotCapacityForm
from .models import Appointment, AppointmentStatus, Service, Slot


def _require_staff(request):
    if not request.user.has_perm("booking.view_appointment"):
        raise PermissionDenied


_ID = re.compile(r"^[0-9]{1,18}$")


def _int(value):
    """A row id from the request, or None. ASCII digits only: "²" and "١" are digits to
    str.isdigit() but int() or the database refuse them; 18 digits fit a bigint."""
    return int(value) if isinstance(value, str) and _ID.match(value) else None


def _form_errors(request, form):
    for field_errors in form.errors.values():
        for error in field_errors:
            messages.error(request, error)


def _day_url(clinic, service, day, filters=None):
    """The list's address; `filters` (status, from, until, as _filters reads them) are kept
    so that an action on a row comes back to the same filtered list."""
    query = {"clinic": clinic.pk, "day": day.isoformat()}
    if service:
        query["service"] = service.pk
    for name, value in (filters or {}).items():
        if value:
            query[name] = value.strftime("%H:%M") if isinstance(value, time) else value
    return f"{reverse('booking_day_list')}?{urlencode(query)}"


# Statuses the list can be filtered by (cancelled appointments are not on it).
LISTED_STATUSES = [s for s in AppointmentStatus if s != AppointmentStatus.CANCELLED]


def _time(value):
    """ "HH:MM" from the filter, or None for anything else (never an error)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", value):
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def _filters(source):
    """The list's filters: a status and a time range of the day. Unknown values are ignored."""
    status = source.get("status")
    return {
        "status": status if status in LISTED_STATUSES else "",
        "from": _time(source.get("from")),
        "until": _time(source.get("until")),
    }


def _checked_in(request, appointment):
    messages.success(
        request,
        _("%(name)s is checked in for %(time)s.")
        % {
            "name": appointment.patient_name,
            "time": timezone.localtime(appointment.start).strftime("%H:%M"),
        },
    )


def _filtered(appointments, filters):
    status, start, end = filters["status"], filters["from"], filters["until"]
    shown = []
    for appointment in appointments:
        local = timezone.localtime(appointment.start).time()
        if status and appointment.status != status:
            continue
        if (start and local < start) or (end and local >= end):
            continue
        shown.append(appointment)
    return shown


# Days the list can show; outside them (a typo like 0202 or 9999) the list opens on today, and
# the previous/next day links can never step past what a date can hold.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


class NotYourClinic(Exception):
    """A clinic id in the request that is not one of the staff member's clinics."""


def _parse(request):
    source = request.POST if request.method == "POST" else request.GET
    clinics = selectors.clinics_managed_by(request.user)
    clinic_id = source.get("clinic")
    if clinic_id:
        # Another clinic's list is refused, never swapped for one's own clinic: that would
        # look as if they were shown the clinic they asked for.
        clinic = clinics.filter(pk=_int(clinic_id)).first()
        if clinic is None:
            raise NotYourClinic
    else:
        clinic = clinics.first()
    try:
        day = date.fromisoformat(source.get("day") or "")
    except ValueError:
        day = timezone.localdate()
    if not FIRST_DAY <= day <= LAST_DAY:
        day = timezone.localdate()
    service_id = _int(source.get("service"))
    service = None
    if clinic and service_id is not None:
        service = clinic.services.filter(pk=service_id).first()
    return clinics, clinic, service, day


def day_list(request):
    """GET: the list for a clinic, day and (optionally) service. POST: one staff action."""
    _require_staff(request)
    try:
        clinics, clinic, service, day = _parse(request)
    except NotYourClinic:
        # Refused inside the admin (Wagtail's own error pages lack the landmarks and skip
        # link target that the rest of the back office has), with the way back to one's own.
        return TemplateResponse(request, "booking/staff/not_your_clinic.html", status=403)
    filters = _filters(request.POST if request.method == "POST" else request.GET)
    form = CheckInForm(request.POST if request.POST.get("action") == "check_in" else None)
    if request.method == "POST" and clinic is not None:
        if not request.user.has_perm("booking.change_appointment"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "check_in":
                if form.is_valid():
                    appointment = rules.check_in(clinic, form.cleaned_data["code"], by=request.user)
                    _checked_in(request, appointment)
                    return redirect(_day_url(clinic, service, timezone.localdate(), filters))
            elif action in {"check_in_row", "no_show", "completed"}:
                # Only appointments of a clinic this staff member runs: anything else is a 404.
                appointment = get_object_or_404(
                    Appointment.objects.select_related("resident__profile", "dependant"),
                    pk=_int(request.POST.get("appointment")),
                    slot__clinic=clinic,
                )
                if action == "check_in_row":
                    # The row's button: the same check-in as by code, for a patient at the
                    # counter without their code.
                    rules.check_in(clinic, appointment.check_in_code, by=request.user)
                    _checked_in(request, appointment)
                elif action == "no_show":
                    rules.mark_no_show(appointment, by=request.user)
                    messages.success(
                        request,
                        _("%(name)s is marked as not attended.")
                        % {"name": appointment.patient_name},
                    )
                else:
                    rules.mark_completed(appointment, by=request.user)
                    messages.success(
                        request,
                        _("%(name)s's visit is marked as completed.")
                        % {"name": appointment.patient_name},
                    )
                return redirect(_day_url(clinic, service, day, filters))
            elif action in {"close_slot", "capacity"}:
                slot = get_object_or_404(
                    Slot, pk=_int(request.POST.get("slot")), clinic=clinic, start__gt=timezone.now()
                )
                # Typed values go through forms: a NUL or an unreadable reason, a capacity
                # that is no number, is a message and changes nothing (never a 500).
                if action == "close_slot":
                    close_form = CloseSlotForm(request.POST)
                    if not close_form.is_valid():
                        _form_errors(request, close_form)
                    else:
                        cancelled = schedules.close_slot(
                            slot, reason=close_form.cleaned_data["reason"], by=request.user
                        )
                        messages.success(
                            request,
                            _("The time is closed; %(count)s residents were told.")
                            % {"count": len(cancelled)},
                        )
                else:
                    capacity_form = SlotCapacityForm(request.POST)
                    if not capacity_form.is_valid():
                        _form_errors(request, capacity_form)
                    else:
                        schedules.set_slot_capacity(slot, capacity_form.cleaned_data["capacity"])
                        messages.success(request, _("The capacity is changed."))
                return redirect(_day_url(clinic, service, day))
            else:
                messages.error(request, _("Unknown action."))
        except errors.REFUSALS as error:
            messages.error(request, str(error))
            if action != "check_in":
                return redirect(_day_url(clinic, service, day, filters))
    appointments, counts = selectors.day_list(clinic, day, service=service) if clinic else ([], {})
    slots = []
    if clinic:
        slots = (
            Slot.objects.filter(
                clinic=clinic,
                start__gte=conf.local_midnight(day),
                start__lt=conf.local_midnight(day + timedelta(days=1)),
            )
            .select_related("service", "practitioner")
            .order_by("start", "service__sort_order")
        )
        if service:
            slots = slots.filter(service=service)
    labels = dict(AppointmentStatus.choices)
    return TemplateResponse(
        request,
        "booking/staff/day_list.html",
        {
            "clinics": clinics,
            "clinic": clinic,
            "services": clinic.services.all() if clinic else Service.objects.none(),
            "service": service,
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "today": timezone.localdate(),
            "appointments": _filtered(appointments, filters),
            "filters": filters,
            "statuses": [(status.value, status.label) for status in LISTED_STATUSES],
            "pages": [
                (label, _day_url(clinic, service, other, filters), other)
                for label, other in (
                    (_("Previous day"), day - timedelta(days=1)),
                    (_("Today"), timezone.localdate()),
                    (_("Next day"), day + timedelta(days=1)),
                )
            ]
            if clinic
            else [],
            "counts": [(labels[status], n) for status, n in counts.items()],
            "total": len(appointments),
            "capacity": sum(s.capacity for s in slots if s.status == "open"),
            "slots": slots,
            "form": form,
            "now": timezone.now(),
        },
    )


def appointment(request, pk):
    """One appointment of the staff member's clinics, with its whole history (who changed it,
    when, why, and staff notes). Another clinic's appointment is a 404."""
    _require_staff(request)
    appointment = get_object_or_404(
        scoping.visible(
            request.user,
            Appointment.objects.select_related(
                "slot__clinic", "slot__service", "slot__practitioner", "resident__profile"
            ),
        ).select_related("dependant"),
        pk=_int(pk),
    )
    return TemplateResponse(
        request,
        "booking/staff/appointment.html",
        {
            "appointment": appointment,
            "history": history.timeline(appointment, audience=history.STAFF_AUDIENCE),
            "day_url": _day_url(
                appointment.slot.clinic, None, timezone.localdate(appointment.start)
            ),
        },
    )


class DayListMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("booking.view_appointment")
