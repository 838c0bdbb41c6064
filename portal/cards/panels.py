"""The card panel on My page: the open application's status and next step, or the card held
(with the way to report it lost), or the way to apply. Two queries whatever the history."""

from django.utils.translation import gettext_lazy as _

from portal.mypage.panels import Panel

from . import statuses
from .models import OPEN_STATES, Card, CardApplication, CardState


class CardPanel(Panel):
    slug = "card"
    title = _("Social security card")
    order = 27
    template_name = "cards/panels/card.html"
    # Cached per resident; dropped when an application or card of theirs is saved or deleted
    # and on every status change of either through portal.workflow (a card's holder_id names
    # its resident). Five minutes bound what no change reports: a collection point renamed.
    cache_seconds = 300
    invalidated_by = {CardApplication: "applicant_id", Card: "holder_id"}

    class Media:
        css = {"all": ["cards/panel.css"]}

    def get_context_data(self, request):
        user = request.user
        application = (
            CardApplication.objects.filter(applicant=user, state__in=OPEN_STATES)
            .select_related("collection_point")
            .first()
        )
        card = (
            Card.objects.filter(holder=user, state=CardState.ACTIVE).order_by("-issued_at").first()
        )
        return {
            "application": application,
            "card": card,
            "tone": statuses.tone(application.state) if application else "",
            "next_step": statuses.next_step(application) if application else "",
        }
