"""Booking's panel on My page: the resident's next appointments and any open waitlist offer."""

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
        # Two queries whatever the resident's history: the next three, and open offers.
        now = timezone.now()
        return {
            "appointments": list(selectors.upcoming_for(request.user, now=now)[:3]),
            "offers": WaitlistEntry.objects.filter(
                resident=request.user, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
            ).exists(),
        }
