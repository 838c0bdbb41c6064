"""The cases panel on My page: open cases with status, due date and next step; recent results."""

from datetime import timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.mypage.panels import Panel

from . import services
from .models import DECIDED_STATES, OPEN_STATES, Case, CaseState, ResidentIdentity, StatusText

RECENT_DAYS = 60
PANEL_LIMIT = 5


class CasesPanel(Panel):
    slug = "cases"
    title = _("My applications")
    order = 25
    template_name = "cases/panels/cases.html"
    # Cached per resident; dropped when one of their cases is saved (filed, a draft started),
    # changes status through portal.workflow (which also covers a correction asked for, an
    # extension and the due date each of those moves), has its due date moved by a calendar
    # change (the recompute's history rows, `recorded_unchanged`), and when their identity is
    # verified (cases filed for their ID number become theirs). Five minutes bound what no
    # change reports: a service's name or status wording edited, a result older than
    # RECENT_DAYS leaving the list. An assignment changes nothing the panel shows.
    cache_seconds = 300
    invalidated_by = {Case: "applicant_id", ResidentIdentity: "user_id"}

    class Media:
        css = {"all": ["cases/panel.css"]}

    def get_context_data(self, request):
        # A fixed number of queries whatever the number of cases: how many open cases,
        # recent results and drafts there are (one query), then the open ones and the recent
        # results with their services and status wording, each only when there are some.
        user = request.user
        since = timezone.now() - timedelta(days=RECENT_DAYS)
        wording = Prefetch("service__status_texts", queryset=StatusText.objects.all())
        base = Case.objects.filter(applicant=user).select_related("service", "office")
        decided = Q(state__in=(*DECIDED_STATES, CaseState.WITHDRAWN), updated_at__gte=since)
        counts = Case.objects.filter(applicant=user).aggregate(
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            results=Count("pk", filter=decided),
            drafts=Count("pk", filter=Q(state=CaseState.DRAFT)),
        )
        open_cases, results = [], []
        if counts["open"]:
            open_cases = list(
                base.filter(state__in=OPEN_STATES)
                .order_by("due_date", "pk")
                .prefetch_related(wording)[:PANEL_LIMIT]
            )
        if counts["results"]:
            results = list(
                base.filter(decided).order_by("-updated_at").prefetch_related(wording)[:PANEL_LIMIT]
            )
        drafts = counts["drafts"]
        rows = []
        for case in open_cases + results:
            rows.append(
                {
                    "case": case,
                    "status": services.status_wording(
                        case, texts=list(case.service.status_texts.all())
                    ),
                }
            )
        return {
            "open_rows": rows[: len(open_cases)],
            "result_rows": rows[len(open_cases) :],
            "drafts": drafts,
        }
