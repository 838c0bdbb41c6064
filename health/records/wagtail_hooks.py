from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem

from health.fhir import links
from health.fhir.models import PatientLink
from portal.accounts.roles import CLINIC_STAFF, has_role
from portal.mypage.panels import Panel

from . import services


class HealthPanel(Panel):
    """My page: allergies, active conditions, medications, next immunization, latest vitals.

    A fixed number of bounded queries whatever the size of the record: the account's links,
    the lists' searches (each capped by _count) read in one statement, their audit rows in one
    INSERT, the labels of their codes.
    """

    slug = "health"
    title = _("My health")
    order = 40
    template_name = "records/panels/health.html"
    # Cached per resident; dropped when their links change and when the store writes into a
    # linked record (health.fhir.signals.compartments_written, see apps.py). A fragment served
    # from the cache is no new read of the store, so it writes no audit row.
    cache_seconds = 300
    invalidated_by = {PatientLink: "user_id"}

    def get_context_data(self, request):
        record = services.Record.of(request.user, links.request_links(request))
        if record is None:
            return {"linked": False}
        with record.collecting():
            # Its searches in one statement (the store audits each as before).
            record.read_ahead(*services.SUMMARY)
            return {
                "linked": True,
                "allergies": record.allergies(),
                "conditions": record.conditions(active_only=True),
                "medications": record.medications(active_only=True),
                "next_immunization": record.next_immunization_due(),
                "vitals": record.latest_vitals(),
            }


@hooks.register("register_mypage_panel")
def register_health_panel():
    return HealthPanel()


class ClinicStaffMenuItem(MenuItem):
    def is_shown(self, request):
        return has_role(request.user, CLINIC_STAFF)


# After booking's demo data: the demo nurse is then staff of the demo clinics, which the demo
# patients are registered with.
@hooks.register("load_demo_data", order=10)
def load_demo_records(stdout):
    from .demo import load

    load(stdout)


@hooks.register("register_admin_urls")
def register_records_admin_urls():
    return [path("health/patients/", include("health.records.admin_urls"))]


@hooks.register("register_admin_menu_item")
def register_patients_menu_item():
    return ClinicStaffMenuItem(
        _("Patients"), reverse("records_admin:search"), icon_name="user", order=250
    )
