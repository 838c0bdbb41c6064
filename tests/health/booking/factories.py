"""Factories for clinic booking. Slots default to tomorrow at 10:00 local time, inside the
booking window, so a test states only what matters to it."""

from datetime import datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

import factory

from health.booking.models import (
    Appointment,
    Clinic,
    Closure,
    Dependant,
    Practitioner,
    ScheduleRule,
    Service,
    Slot,
    new_check_in_code,
)
from tests.factories import CommunityFactory, UserFactory


def local(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def tomorrow_at(hour, minute=0):
    return local(timezone.localdate() + timedelta(days=1), hour, minute)


def next_weekday(weekday):
    """The next date (after today) that falls on `weekday` (0 = Monday)."""
    today = timezone.localdate()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def fresh(obj):
    """The object as the database holds it now."""
    obj.refresh_from_db()
    return obj


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"service-{n}")
    name_zh_hant = factory.Sequence(lambda n: f"服務{n}")
    name_zh_hans = factory.Sequence(lambda n: f"服务{n}")
    name_en = factory.Sequence(lambda n: f"Service {n}")
    default_slot_minutes = 15


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"clinic-{n}")
    name_zh_hant = factory.Sequence(lambda n: f"第{n}診所")
    name_zh_hans = factory.Sequence(lambda n: f"第{n}诊所")
    name_en = factory.Sequence(lambda n: f"Clinic {n}")
    community = factory.SubFactory(CommunityFactory)
    address_zh_hant = factory.Sequence(lambda n: f"健康道{n}號")
    address_zh_hans = factory.Sequence(lambda n: f"健康道{n}号")
    address_en = factory.Sequence(lambda n: f"{n} Health Road")
    opening_hours_zh_hant = "星期一至五 09:00–17:00"
    opening_hours_zh_hans = "星期一至五 09:00–17:00"
    opening_hours_en = "Mon–Fri 09:00–17:00"
    latitude = "22.300000"
    longitude = "114.170000"
    phone = "28001234"
    cancel_cutoff_hours = 2
    reschedule_cutoff_hours = 2

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.add(*extracted)


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Dr Practitioner {n}")
    role = "Family doctor"


class ScheduleRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleRule

    clinic = factory.SubFactory(ClinicFactory)
    service = factory.SubFactory(ServiceFactory)
    weekday = 0
    start_time = time(9)
    end_time = time(10)
    slot_minutes = 15
    capacity = 2
    valid_from = factory.LazyFunction(timezone.localdate)


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    service = factory.SubFactory(ServiceFactory)
    clinic = factory.SubFactory(
        ClinicFactory, services=factory.LazyAttribute(lambda o: [o.factory_parent.service])
    )
    start = factory.LazyFunction(lambda: tomorrow_at(10))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(minutes=15))
    capacity = 1


class DependantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dependant

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Child {n}")
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365 * 6))
    relationship = Dependant.Relationship.CHILD


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written directly (bypassing services), for listing and staff tests.
    It also counts its place on the slot, as rules.book would."""

    class Meta:
        model = Appointment

    slot = factory.SubFactory(SlotFactory)
    resident = factory.SubFactory(UserFactory)
    start = factory.LazyAttribute(lambda o: o.slot.start)
    end = factory.LazyAttribute(lambda o: o.slot.end)
    check_in_code = factory.LazyFunction(new_check_in_code)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        appointment = super()._create(model_class, *args, **kwargs)
        Slot.objects.filter(pk=appointment.slot_id).update(booked=F("booked") + 1)
        return appointment


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    clinic = factory.SubFactory(ClinicFactory)
    date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=1))
    reason = "Public holiday"


def clinic_form_data(clinic, **changes):
    """What the staff edit form of a clinic posts when nothing is changed but `changes`."""
    data = {
        "name_zh_hant": clinic.name_zh_hant,
        "name_zh_hans": clinic.name_zh_hans,
        "name_en": clinic.name_en,
        "community": clinic.community_id or "",
        "address_zh_hant": clinic.address_zh_hant,
        "address_zh_hans": clinic.address_zh_hans,
        "address_en": clinic.address_en,
        "latitude": str(clinic.latitude),
        "longitude": str(clinic.longitude),
        "phone": clinic.phone,
        "opening_hours_zh_hant": clinic.opening_hours_zh_hant,
        "opening_hours_zh_hans": clinic.opening_hours_zh_hans,
        "opening_hours_en": clinic.opening_hours_en,
        "services": [s.pk for s in clinic.services.all()],
        "cancel_cutoff_hours": clinic.cancel_cutoff_hours,
        "reschedule_cutoff_hours": clinic.reschedule_cutoff_hours,
        "is_active": "on",
    }
    data.update(changes)
    return data
