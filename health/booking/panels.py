"""Booking's panel on My page: the resident's next appointments and any open waitlist offer."""

from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.mypage.panels import Panel

from . import selectors
from .models import Appointment, WaitlistEntry, WaitlistStatus


class NextAppointmentsPanel(Panel):
    slug = "appointments"
    title = _("Next appointments")
    order = 30
    template_name = "booking/panels/appointments.html"
    # Cached per resident; dropped when their appointments or waitlist places are written or
    # change status (portal.workflow). Five minutes bound what no change reports: an
    # appointment whose time has passed, a clinic renamed.
    cache_seconds = 300
    invalidated_by = {Appointment: "resident_id", WaitlistEntry: "resident_id"}

    class Media:
        css = {"all": ["booking/panel.css"]}

    def get_context_data(self, request):
        # One query whatever the resident's history: the next three, each with whether an
        # offer is open; a second for the offers alone when there is no appointment.
        now = timezone.now()
        offered = WaitlistEntry.objects.filter(
            resident=request.user, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
        )
        appointments = list(
            selectors.upcoming_for(request.user, now=now).annotate(offers=Exists(offered))[:3]
        )
        return {
            "appointments": appointments,
            "offers": appointments[0].offers if appointments else offered.exists(),
        }
