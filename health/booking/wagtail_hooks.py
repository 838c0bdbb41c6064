"""How clinic booking plugs into the portal: the My page panel, demo data, and the staff side
in the Wagtail admin (clinic, schedule and closure viewsets scoped to the staff member's own
clinics, and the day list)."""

from datetime import time, timedelta

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from portal.mypage.panels import Panel

from . import admin_views, services
from .forms import ClinicForm, ClosureForm, PractitionerForm, ScheduleRuleForm
from .models import (
    Clinic,
    Closure,
    Practitioner,
    ScheduleRule,
    Service,
    WaitlistEntry,
    WaitlistStatus,
)


# My page ----------------------------------------------------------------------------------------
class NextAppointmentsPanel(Panel):
    slug = "appointments"
    title = _("Next appointments")
    order = 30
    template_name = "booking/panels/appointments.html"

    class Media:
        css = {"all": ["booking/panel.css"]}

    def get_context_data(self, request):
        # Two queries whatever the resident's history: the next three, and open offers.
        now = timezone.now()
        return {
            "appointments": list(services.upcoming_for(request.user, now=now)[:3]),
            "offers": WaitlistEntry.objects.filter(
                resident=request.user, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
            ).exists(),
        }


@hooks.register("register_mypage_panel")
def register_appointments_panel():
    return NextAppointmentsPanel()


# Staff: scoped viewsets -------------------------------------------------------------------------
class ClinicScope:
    """What a staff member may see of a model: the rows of the clinics they run."""

    clinic_lookup = "clinic__in"

    def scope(self, queryset):
        return queryset.filter(
            **{self.clinic_lookup: services.clinics_managed_by(self.request.user)}
        )


class ClinicScopedViewMixin(ClinicScope):
    """Limit listings and the objects that edit/delete views load to the user's clinics.
    Another clinic's object id in the URL is then a 404, not an edit."""

    def get_queryset(self):
        return self.scope(super().get_queryset())


class ClinicScopedObjectMixin(ClinicScope):
    """The same for the history and usage views, which load their object through
    get_base_object_queryset (their get_queryset lists log entries or references)."""

    def get_base_object_queryset(self):
        return self.scope(super().get_base_object_queryset())


class ClinicScopedGetObjectMixin(ClinicScope):
    """The same for views that fetch their object straight from the model (inspect, copy):
    Wagtail loads it with its own checks, and one outside the user's clinics is a 404."""

    def get_object(self, queryset=None):
        instance = super().get_object(queryset)
        if not self.scope(self.model._default_manager.filter(pk=instance.pk)).exists():
            raise Http404
        return instance


class ScopedIndexView(ClinicScopedViewMixin, generic.IndexView):
    # Related rows the list's columns show, read in the listing's own query: the number of
    # queries must not grow with the number of rows.
    list_select_related = ()

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset


class ScopedEditView(ClinicScopedViewMixin, generic.EditView):
    pass


class ScopedDeleteView(ClinicScopedViewMixin, generic.DeleteView):
    pass


class ScopedHistoryView(ClinicScopedObjectMixin, generic.HistoryView):
    pass


class ScopedUsageView(ClinicScopedObjectMixin, generic.UsageView):
    pass


class ScopedInspectView(ClinicScopedGetObjectMixin, generic.InspectView):
    pass


class ScopedCopyView(ClinicScopedGetObjectMixin, generic.CopyView):
    pass


class ScopedViewSet(ModelViewSet):
    """A viewset whose every view of an existing object sees only the user's clinics' rows.
    `clinic_lookup` and `list_select_related` reach the views that have those attributes."""

    clinic_lookup = "clinic__in"
    list_select_related = ()
    index_view_class = ScopedIndexView
    edit_view_class = ScopedEditView
    delete_view_class = ScopedDeleteView
    history_view_class = ScopedHistoryView
    usage_view_class = ScopedUsageView
    inspect_view_class = ScopedInspectView
    copy_view_class = ScopedCopyView
    copy_view_enabled = False
    add_to_admin_menu = False
    form_class = None

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            clinic_lookup=self.clinic_lookup,
            list_select_related=self.list_select_related,
            **kwargs,
        )

    def get_form_class(self, for_update=False):
        return self.form_class


class PractitionerViewSet(ScopedViewSet):
    name = "booking_practitioners"
    model = Practitioner
    form_class = PractitionerForm
    list_select_related = ("clinic",)
    icon = "user"
    menu_label = _("Practitioners")
    list_display = ["name", "role", "clinic", "is_active"]


class ServiceViewSet(ModelViewSet):
    name = "booking_services"
    model = Service
    icon = "tasks"
    menu_label = _("Clinic services")
    copy_view_enabled = False
    form_fields = [
        "code",
        "name_zh_hant",
        "name_zh_hans",
        "name_en",
        "description",
        "default_slot_minutes",
        "is_active",
        "sort_order",
    ]
    list_display = ["name", "code", "is_active"]


def _report_kept(request, kept, message=None):
    """Tell staff which booked times a change left in place (at most ten of them)."""
    if kept:
        times = ", ".join(
            timezone.localtime(slot.start).strftime("%Y-%m-%d %H:%M") for slot in kept[:10]
        )
        message = message or gettext(
            "The new schedule no longer has these times, but residents are booked in them, "
            "so they stay open: %(times)s. Add a closure for them to cancel and tell the "
            "residents."
        )
        messages.warning(request, message % {"times": times})


class SaveWithFollowUpMixin:
    """Saving the object and its follow-up step (`follow_up`, e.g. regenerating slots) are
    one transaction: when the follow-up fails, the object is not saved either. A rule's
    refusal (a BookingError) is shown on the form, which keeps what was typed; any other
    failure is a server error, with nothing saved. `report` (messages for the user) runs only
    once both steps have succeeded."""

    def follow_up(self, instance):
        raise NotImplementedError

    def report(self, outcome):
        pass

    def save_instance(self):
        with transaction.atomic():
            instance = super().save_instance()
            outcome = self.follow_up(instance)
        self.report(outcome)
        return instance

    def form_valid(self, form):
        adding = form.instance._state.adding
        try:
            return super().form_valid(form)
        except services.BookingError as error:
            if adding:
                # The insert was rolled back: the form must not refer to a row that is gone.
                form.instance.pk = None
                form.instance._state.adding = True
            form.add_error(None, str(error))
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class ClinicEditView(SaveWithFollowUpMixin, ScopedEditView):
    """Its schedules follow the clinic: a service it stops offering, or the clinic closing for
    good, takes no new bookings (booked residents keep theirs, and staff are told)."""

    def follow_up(self, instance):
        return services.sync_clinic_slots(instance)

    def report(self, kept):
        _report_kept(
            self.request,
            kept,
            gettext(
                "Residents are booked at these times of a service this clinic no longer "
                "offers (or while it is closed), so they keep their appointments and nobody "
                "new can book: %(times)s. Add a closure for them to cancel and tell the "
                "residents."
            ),
        )


class ClinicViewSet(ScopedViewSet):
    name = "booking_clinics"
    model = Clinic
    form_class = ClinicForm
    edit_view_class = ClinicEditView
    clinic_lookup = "pk__in"
    icon = "home"
    menu_label = _("Clinics")
    # Properties answering in the admin user's language: they need a label of their own.
    list_display = [
        Column("name", label=_("Name")),
        Column("address", label=_("Address")),
        "phone",
        "is_active",
    ]


class RuleSyncMixin(SaveWithFollowUpMixin):
    """A schedule change regenerates its slots at once (in the same transaction)."""

    def follow_up(self, instance):
        return services.sync_rule_slots(instance)["kept"]

    def report(self, kept):
        _report_kept(self.request, kept)


class RuleCreateView(RuleSyncMixin, generic.CreateView):
    pass


class RuleEditView(RuleSyncMixin, ScopedEditView):
    pass


class RuleDeleteView(ScopedDeleteView):
    """Deleting a rule first removes its unbooked future slots, in the same transaction."""

    def delete_action(self):
        with transaction.atomic():
            kept = services.retire_rule(self.object)
            super().delete_action()
        _report_kept(self.request, kept)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except services.BookingError as error:
            messages.error(self.request, str(error))
            return self.form_invalid(form)


class ScheduleRuleViewSet(ScopedViewSet):
    name = "booking_schedules"
    model = ScheduleRule
    form_class = ScheduleRuleForm
    add_view_class = RuleCreateView
    edit_view_class = RuleEditView
    delete_view_class = RuleDeleteView
    list_select_related = ("clinic", "service", "practitioner")
    icon = "date"
    menu_label = _("Weekly schedules")
    list_display = ["__str__", "capacity", "slot_minutes", "valid_from", "valid_to", "is_active"]


class ClosureApplyMixin(SaveWithFollowUpMixin):
    """Saving a closure closes the slots it covers and notifies each affected resident."""

    def follow_up(self, instance):
        if instance.created_by_id is None:
            Closure.objects.filter(pk=instance.pk).update(created_by=self.request.user)
        return services.apply_closure(instance)

    def report(self, cancelled):
        messages.info(
            self.request,
            gettext("%(count)s appointments were cancelled and the residents told.")
            % {"count": len(cancelled)},
        )


class ClosureCreateView(ClosureApplyMixin, generic.CreateView):
    pass


class ClosureEditView(ClosureApplyMixin, ScopedEditView):
    pass


class ClosureViewSet(ScopedViewSet):
    name = "booking_closures"
    model = Closure
    form_class = ClosureForm
    add_view_class = ClosureCreateView
    edit_view_class = ClosureEditView
    list_select_related = ("clinic", "service")
    icon = "warning"
    menu_label = _("Closures")
    list_display = ["date", "clinic", "service", "start_time", "end_time", "reason", "applied_at"]


class BookingViewSetGroup(ModelViewSetGroup):
    items = (
        ClinicViewSet,
        ServiceViewSet,
        PractitionerViewSet,
        ScheduleRuleViewSet,
        ClosureViewSet,
    )
    menu_icon = "date"
    menu_label = _("Clinic booking")
    menu_name = "clinic-booking"
    menu_order = 300


@hooks.register("register_admin_viewset")
def register_booking_viewsets():
    return BookingViewSetGroup()


@hooks.register("register_admin_urls")
def register_day_list_url():
    return [
        path(
            "booking/day/",
            admin_views.day_list,
            name="booking_day_list",
        ),
    ]


class DayListMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("booking.view_appointment")


@hooks.register("register_admin_menu_item")
def register_day_list_menu_item():
    return DayListMenuItem(
        _("Clinic day list"), reverse("booking_day_list"), icon_name="list-ul", order=290
    )


# Demo data --------------------------------------------------------------------------------------
DEMO_SERVICES = [
    # code, zh-hant, zh-hans, en, minutes
    ("general", "普通科", "普通科", "General practice", 15),
    ("vaccination", "疫苗接種", "疫苗接种", "Vaccination", 10),
    ("maternal-child", "母嬰健康", "母婴健康", "Maternal and child health", 20),
    ("chronic", "慢性病覆診", "慢性病复诊", "Chronic disease follow-up", 15),
    ("dental", "牙科", "牙科", "Dental", 30),
]

DEMO_CLINICS = [
    # code, name (zh-hant, zh-hans, en), phone, services, address (zh-hant, zh-hans, en); each
    # on a street of its demo community (portal/demo), located at the community's point.
    (
        "harbour",
        ("海濱健康中心", "海滨健康中心", "Harbour Health Centre"),
        "28001001",
        ["general", "vaccination", "chronic"],
        (
            "海旁道88號海濱綜合大樓地下",
            "海旁道88号海滨综合大楼地下",
            "G/F, Harbour Complex, 88 Praya Road",
        ),
    ),
    (
        "hillside",
        ("山景健康中心", "山景健康中心", "Hillside Health Centre"),
        "28001002",
        ["general", "maternal-child", "dental"],
        (
            "松柏路12號山景社區會堂1樓",
            "松柏路12号山景社区会堂1楼",
            "1/F, Hillside Community Hall, 12 Pine Road",
        ),
    ),
    (
        "market",
        ("街市健康中心", "街市健康中心", "Market Health Centre"),
        "28001003",
        ["general", "vaccination", "maternal-child"],
        (
            "街市街45號街市大廈3樓",
            "街市街45号街市大厦3楼",
            "3/F, Market Building, 45 Market Street",
        ),
    ),
    (
        "riverside",
        ("河畔健康中心", "河畔健康中心", "Riverside Health Centre"),
        "28001004",
        ["general", "chronic", "dental"],
        (
            "河堤路7號河畔健康大樓地下",
            "河堤路7号河畔健康大楼地下",
            "G/F, Riverside Health Building, 7 Embankment Road",
        ),
    ),
]

# The hours the demo schedule rules below open (weekdays 09:00–12:30 and 14:00–17:00).
DEMO_OPENING_HOURS = (
    "星期一至五 09:00–12:30、14:00–17:00\n星期六、日及公眾假期休息",
    "星期一至五 09:00–12:30、14:00–17:00\n星期六、日及公众假期休息",
    "Mon–Fri 09:00–12:30 and 14:00–17:00\nClosed on Saturdays, Sundays and public holidays",
)


def _demo_clinic_texts(index, community):
    """Names and addresses of the demo clinic at `community`: one of DEMO_CLINICS, and past
    those (a district with more communities) the same clinic again under the community's name."""
    code, names, phone, codes, addresses = DEMO_CLINICS[index % len(DEMO_CLINICS)]
    if index < len(DEMO_CLINICS):
        return code, names, phone, codes, addresses
    names = (
        f"{community.name_zh_hant}{names[0]}",
        f"{community.name_zh_hans}{names[1]}",
        f"{community.name_en} {names[2]}",
    )
    addresses = (
        f"{community.name_zh_hant}健康路1號地下",
        f"{community.name_zh_hans}健康路1号地下",
        f"G/F, 1 {community.name_en} Health Road",
    )
    return f"{code}-{community.code}", names, phone, codes, addresses


@hooks.register("load_demo_data")
def load_booking_demo(stdout):
    """Services, one clinic per demo community, weekday sessions and 8 weeks of slots.
    Idempotent: rows are matched by code, rules by clinic/service/weekday/time."""
    from django.contrib.auth import get_user_model

    from portal.accounts.models import Community

    services_by_code = {}
    for order, (code, zh_hant, zh_hans, en, minutes) in enumerate(DEMO_SERVICES):
        services_by_code[code], _created = Service.objects.update_or_create(
            code=code,
            defaults={
                "name_zh_hant": zh_hant,
                "name_zh_hans": zh_hans,
                "name_en": en,
                "default_slot_minutes": minutes,
                "sort_order": order,
            },
        )
    nurse = get_user_model().objects.filter(email="nurse@demo.district.example").first()
    communities = list(Community.objects.all())
    clinics = []
    for index, community in enumerate(communities):
        clinic_code, names, phone, codes, addresses = _demo_clinic_texts(index, community)
        clinic, _created = Clinic.objects.update_or_create(
            code=clinic_code,
            defaults={
                "name_zh_hant": names[0],
                "name_zh_hans": names[1],
                "name_en": names[2],
                "community": community,
                "address_zh_hant": addresses[0],
                "address_zh_hans": addresses[1],
                "address_en": addresses[2],
                "latitude": community.latitude,
                "longitude": community.longitude,
                "phone": phone,
                "opening_hours_zh_hant": DEMO_OPENING_HOURS[0],
                "opening_hours_zh_hans": DEMO_OPENING_HOURS[1],
                "opening_hours_en": DEMO_OPENING_HOURS[2],
            },
        )
        clinic.services.add(*(services_by_code[c] for c in codes))
        if nurse is not None and index == 0:
            clinic.staff.add(nurse)
        Practitioner.objects.get_or_create(
            clinic=clinic, name=f"Dr {community.name_en}", defaults={"role": "Family doctor"}
        )
        for service_code in codes:
            service = services_by_code[service_code]
            for weekday in range(5):
                for start, end in ((time(9), time(12, 30)), (time(14), time(17))):
                    ScheduleRule.objects.get_or_create(
                        clinic=clinic,
                        service=service,
                        weekday=weekday,
                        start_time=start,
                        defaults={
                            "end_time": end,
                            "slot_minutes": service.default_slot_minutes,
                            "capacity": 2 if service_code == "vaccination" else 1,
                            "valid_from": timezone.localdate(),
                        },
                    )
        clinics.append(clinic)
    created = services.generate_slots()
    stdout.write(f"Clinic booking: {len(clinics)} clinics, {created} new slots.")
    _book_demo_appointment(stdout, clinics[:1], services_by_code["chronic"])


def _book_demo_appointment(stdout, clinics, service):
    """Give the first demo resident a follow-up at the first clinic (booked through the real
    rules, so the confirmation is in his inbox) unless he already has one coming."""
    from django.contrib.auth import get_user_model

    resident = get_user_model().objects.filter(email="chan.taiman@demo.district.example").first()
    if resident is None or not clinics or services.upcoming_for(resident).exists():
        return
    slot = (
        services.free_slots()
        .filter(clinic=clinics[0], service=service, start__gte=timezone.now() + timedelta(days=2))
        .order_by("start")
        .first()
    )
    if slot is not None:
        start = timezone.localtime(services.book(resident, slot.pk).start)
        stdout.write(f"  Chan Tai Man has a follow-up on {start:%Y-%m-%d %H:%M}.")
