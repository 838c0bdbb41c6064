"""The transition tables of card applications and cards (see portal/workflow). Every status
change of either goes through `portal.workflow.transition()` with one of these steps: the
conditional UPDATE, the history row, the notification and the effects in one transaction.

Who may: RESIDENT is the applicant (the card's holder); STAFF is a case officer of the
application's collection point (portal.scoping, registered in scopes.py); SYSTEM is a
consequence of another change (collection issues the card; account closure withdraws).
"""

from django.utils.translation import gettext_lazy as _

from portal.workflow import RESIDENT, STAFF, SYSTEM, Step, TransitionError, Workflow, register

from . import notifications
from .models import ApplicationState, Card, CardApplication, CardState

S = ApplicationState


class CardTransitionError(TransitionError):
    message = _("This cannot be done while the application is “%(state)s”.")


class CardNotActive(TransitionError):
    message = _("This card is already “%(state)s”.")


def issue_card(change):
    """Collecting the card: the card the resident now holds is recorded as valid."""
    from . import services

    services.issue_card(change.obj, at=change.at, by=change.user)


APPLICATION = register(
    Workflow(
        CardApplication,
        field="state",
        resident=lambda application: application.applicant,
        notifier=notifications.for_transition,
        refused=CardTransitionError,
        steps=[
            Step(
                "start",
                source=[None],
                target=S.DRAFT,
                by={RESIDENT},
                label=_("Application started by the resident"),
                resident_text=_("You started the application."),
            ),
            Step(
                "start_replacement",
                source=[None],
                target=S.DRAFT,
                by={RESIDENT},
                label=_("Replacement started after a lost card was reported"),
                resident_text=_(
                    "You reported your card lost; a replacement application was started with "
                    "your details."
                ),
            ),
            Step(
                "submit",
                source=[S.DRAFT],
                target=S.SUBMITTED,
                by={RESIDENT},
                label=_("Sent by the resident"),
                resident_text=_("You sent the application."),
                notify="cards.submitted",
            ),
            Step(
                "approve",
                source=[S.SUBMITTED, S.RESUBMITTED],
                target=S.APPROVED,
                by={STAFF},
                label=_("Photo and data approved"),
                resident_text=_("Your photo and details were checked and approved."),
                notify="cards.approved",
            ),
            Step(
                "request_correction",
                source=[S.SUBMITTED, S.RESUBMITTED],
                target=S.CORRECTION,
                by={STAFF},
                reason_required=True,
                label=_("Correction requested"),
                resident_text=_("The office asked you to correct your application."),
                notify="cards.correction_requested",
            ),
            Step(
                "resubmit",
                source=[S.CORRECTION],
                target=S.RESUBMITTED,
                by={RESIDENT},
                label=_("Corrected and sent again by the resident"),
                resident_text=_("You corrected the application and sent it again."),
            ),
            Step(
                "produce",
                source=[S.APPROVED],
                target=S.IN_PRODUCTION,
                by={STAFF},
                label=_("Put into a production batch"),
                resident_text=_("Your card is being made."),
            ),
            Step(
                "ready",
                source=[S.IN_PRODUCTION],
                target=S.READY,
                by={STAFF},
                label=_("Card ready for collection"),
                resident_text=_("Your card is ready for collection."),
                notify="cards.ready",
            ),
            Step(
                "collect",
                source=[S.READY],
                target=S.COLLECTED,
                by={STAFF},
                label=_("Card handed to the resident"),
                resident_text=_("You collected your card."),
                effects=[issue_card],
            ),
            Step(
                "withdraw",
                source=[S.DRAFT, S.SUBMITTED, S.CORRECTION, S.RESUBMITTED, S.APPROVED],
                target=S.WITHDRAWN,
                by={RESIDENT},
                label=_("Withdrawn by the resident"),
                resident_text=_("You withdrew the application."),
            ),
            Step(
                "account_closed",
                source=[
                    S.DRAFT,
                    S.SUBMITTED,
                    S.CORRECTION,
                    S.RESUBMITTED,
                    S.APPROVED,
                    S.IN_PRODUCTION,
                    S.READY,
                ],
                target=S.WITHDRAWN,
                by={RESIDENT, SYSTEM},
                label=_("Withdrawn: the resident's account was closed"),
            ),
        ],
    )
)

CARD = register(
    Workflow(
        Card,
        field="state",
        resident=lambda card: card.holder,
        notifier=notifications.for_transition,
        refused=CardNotActive,
        steps=[
            Step(
                "issue",
                source=[None],
                target=CardState.ACTIVE,
                by={SYSTEM},
                label=_("Card issued"),
                resident_text=_("Your card was issued to you."),
            ),
            Step(
                "report_lost",
                source=[CardState.ACTIVE],
                target=CardState.BLOCKED,
                by={RESIDENT},
                label=_("Reported lost by the holder: blocked"),
                resident_text=_("You reported the card lost. It is blocked and cannot be used."),
                notify="cards.blocked",
            ),
            Step(
                "block",
                source=[CardState.ACTIVE],
                target=CardState.BLOCKED,
                by={STAFF},
                reason_required=True,
                label=_("Blocked by the office"),
                resident_text=_("The office blocked the card."),
                notify="cards.blocked",
            ),
        ],
    )
)
