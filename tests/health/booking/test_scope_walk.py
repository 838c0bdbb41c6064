"""Issue 9's check on the staff scope: every admin URL of every clinic-scoped model, walked as
a nurse of clinic A against clinic B's objects, is refused (listing, add, edit, delete,
history, usage, inspect, copy, the appointment page and every day-list action), and changes
nothing. The viewsets are found from Wagtail's registry and the scoped models from
portal.scoping, so a model or viewset added later is walked too, or the test fails."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from wagtail.admin.viewsets import viewsets as admin_viewsets

import pytest

from health.booking.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Closure,
    Practitioner,
    ScheduleRule,
    Slot,
    WaitlistEntry,
)
from health.booking.scopes import clinics_of
from portal import scoping
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    ClosureFactory,
    PractitionerFactory,
    ScheduleRuleFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db

# Scoped models that have no viewset of their own, and the admin URLs that show them; the
# test below walks those. A scoped model in neither list fails the coverage check.
WALKED_BY_HAND = {Slot: "the day list", Appointment: "the day list and its page"}
NO_ADMIN_URL = {WaitlistEntry: "shown to staff only inside the appointment and day list"}

SECRET = "Secret-of-clinic-B"


@pytest.fixture
def theirs(other_clinic, service):
    """One object of clinic B per scoped model, each labelled with SECRET where it can be."""
    other_clinic.name_en = other_clinic.name_zh_hant = f"{SECRET} clinic"
    other_clinic.save()
    slot = SlotFactory(
        clinic=other_clinic, service=service, start=timezone.now() + timedelta(hours=3)
    )
    appointment = AppointmentFactory(slot=slot)
    return {
        Clinic: other_clinic,
        Practitioner: PractitionerFactory(clinic=other_clinic, name=f"Dr {SECRET}"),
        ScheduleRule: ScheduleRuleFactory(clinic=other_clinic, service=service),
        Closure: ClosureFactory(clinic=other_clinic, reason=f"{SECRET} strike"),
        Slot: slot,
        Appointment: appointment,
        WaitlistEntry: WaitlistEntry.objects.create(slot=slot, resident=UserFactory()),
    }


def clinic_scoped_models():
    """The models portal.scoping scopes to clinics (offices' models are walked by theirs)."""
    return {m for m in scoping.scoped_models() if scoping.scope_of(m).units is clinics_of}


def scoped_viewsets():
    reverse("wagtailadmin_home")  # the admin's URLs, and so its viewset registry, are loaded
    scoped = clinic_scoped_models()
    return [vs for vs in admin_viewsets.viewsets if getattr(vs, "model", None) in scoped]


def snapshot(objects):
    return {
        model: model.objects.filter(pk=obj.pk).values().first() for model, obj in objects.items()
    }


def test_every_scoped_model_is_walked():
    covered = {vs.model for vs in scoped_viewsets()} | set(WALKED_BY_HAND) | set(NO_ADMIN_URL)
    assert clinic_scoped_models() <= covered
    assert {
        Clinic,
        Practitioner,
        ScheduleRule,
        Closure,
        Slot,
        Appointment,
    } <= clinic_scoped_models()


def test_every_viewset_url_refuses_another_clinics_objects(nurse_client, clinic, theirs):
    before = snapshot(theirs)
    walked = []
    for viewset in scoped_viewsets():
        foreign = theirs[viewset.model]
        for pattern in viewset.get_urlpatterns():
            name = f"{viewset.name}:{pattern.name}"
            if "pk" in pattern.pattern.converters:
                url = reverse(name, args=[foreign.pk])
                for method in ("get", "post"):
                    response = getattr(nurse_client, method)(url)
                    assert response.status_code == 404, (name, method, response.status_code)
            else:
                url = reverse(name)
                response = nurse_client.get(url)
                assert response.status_code in {200, 302, 403}, (name, response.status_code)
                assert SECRET not in response.content.decode(), name
                if pattern.name == "add":
                    # Adding something to clinic B is refused, and adds nothing.
                    count = viewset.model.objects.count()
                    nurse_client.post(url, {"clinic": theirs[Clinic].pk, "name": "Dr New"})
                    assert viewset.model.objects.count() == count, name
            walked.append(name)
    assert snapshot(theirs) == before
    # The views issue 9 names, for each of the four viewsets.
    for viewset in (
        "booking_clinics",
        "booking_practitioners",
        "booking_schedules",
        "booking_closures",
    ):
        for view in ("index", "edit", "delete", "history", "usage"):
            assert f"{viewset}:{view}" in walked, (viewset, view)


def test_the_day_list_and_appointment_page_refuse_another_clinics_objects(
    nurse_client, clinic, theirs
):
    appointment, slot = theirs[Appointment], theirs[Slot]
    day = timezone.localdate(slot.start).isoformat()
    url = reverse("booking_day_list")
    # Listing clinic B's day, as such or through the other clinic's id in any parameter.
    listing = nurse_client.get(url, {"clinic": theirs[Clinic].pk, "day": day})
    assert listing.status_code == 403 and SECRET not in listing.content.decode()
    own_day = nurse_client.get(url, {"clinic": clinic.pk, "day": day})
    assert own_day.status_code == 200
    assert appointment.check_in_code not in own_day.content.decode()
    assert SECRET not in own_day.content.decode()
    assert (
        nurse_client.get(reverse("booking_appointment", args=[appointment.pk])).status_code == 404
    )
    # Every action, posted as clinic B and as her own clinic A with B's objects.
    actions = [
        {"action": "no_show", "appointment": appointment.pk},
        {"action": "completed", "appointment": appointment.pk},
        {"action": "close_slot", "slot": slot.pk, "reason": "Taken"},
        {"action": "capacity", "slot": slot.pk, "capacity": "9"},
        {"action": "check_in", "code": appointment.check_in_code},
    ]
    for data in actions:
        as_theirs = nurse_client.post(url, {**data, "clinic": theirs[Clinic].pk, "day": day})
        assert as_theirs.status_code == 403, data
        as_ours = nurse_client.post(url, {**data, "clinic": clinic.pk, "day": day})
        assert as_ours.status_code in {200, 302, 404}, data
        if as_ours.status_code == 302:
            # Redirected with a refusal message; the follow-up page says so.
            page = nurse_client.get(as_ours["Location"]).content.decode()
            assert "checked in" not in page, data
    appointment.refresh_from_db()
    slot.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED and appointment.checked_in_at is None
    assert slot.capacity == theirs[Slot].capacity and slot.status == theirs[Slot].status
