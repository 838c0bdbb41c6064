"""The staff side in the Wagtail admin: clinic, service, practitioner, schedule and closure
viewsets, each scoped to the staff member's own clinics. Saving a clinic, schedule or closure
runs its follow-up (slots regenerated, closures applied) in the same transaction."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from . import errors, schedules, selectors
from .forms import ClinicForm, ClosureForm, PractitionerForm, ScheduleRuleForm
from .models import Clinic, Closure, Practitioner, ScheduleRule, Service


class ClinicScope:
    """What a staff member may see of a model: the rows of the clinics they run."""

    clinic_lookup = "clinic__in"

    def scope(self, queryset):
        return queryset.filter(
            **{self.clinic_lookup: selectors.clinics_managed_by(self.request.user)}
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
        except errors.REFUSALS as error:
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
        return schedules.sync_clinic_slots(instance)

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
        return schedules.sync_rule_slots(instance)["kept"]

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
            kept = schedules.retire_rule(self.object)
            super().delete_action()
        _report_kept(self.request, kept)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except errors.REFUSALS as error:
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
        return schedules.apply_closure(instance, by=self.request.user)

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
