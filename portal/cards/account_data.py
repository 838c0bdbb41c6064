"""Social security cards' part of "download all my data" and of "close my account"."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import OPEN_STATES, ApplicationState, Card, CardApplication


@register_export_part("cards", _("Social security card applications and cards"), order=46)
def export_cards(user, archive):
    from portal.workflow.history import timeline

    applications = (
        CardApplication.objects.filter(applicant=user)
        .select_related("collection_point", "street", "batch")
        .order_by("created_at", "pk")
    )
    rows = []
    for application in applications:
        photo = ""
        if application.photo:
            extension = "png" if application.photo_type == "image/png" else "jpg"
            photo = f"cards/photos/{application.reference}.{extension}"
            try:
                with application.photo.open("rb") as handle:
                    archive.write_bytes(photo, handle.read())
            except FileNotFoundError:
                photo = ""
        rows.append(
            {
                "reference": application.reference,
                "kind": application.kind,
                "status": application.state,
                "full_name": application.full_name,
                "date_of_birth": application.date_of_birth,
                "id_number": application.id_number,
                "mobile_phone": application.phone,
                "home_street": application.street.name_en if application.street else None,
                "address": application.address,
                "collection_point": application.collection_point.name_en,
                "photo": photo or None,
                "created": application.created_at,
                "submitted": application.submitted_at,
                "collect_by": application.collect_by,
                "correction_requested": application.correction_reason,
                "history": [
                    {"at": entry.at, "what": entry.title, "reason": entry.reason}
                    for entry in timeline(application)
                ],
            }
        )
    cards = [
        {
            "number": card.number,
            "status": card.state,
            "issued": card.issued_at,
            "blocked": card.blocked_at,
            "application": card.application.reference,
        }
        for card in Card.objects.filter(holder=user).select_related("application")
    ]
    archive.write_json("cards/cards.json", {"applications": rows, "cards": cards})


@register_closure_rule("cards", order=46)
class CardsOnClosure:
    """An open application is withdrawn through its own step; every photo the portal holds is
    deleted. A card already issued stays valid (it is the holder's card, not the account's),
    and the office keeps its record of the applications and cards."""

    def describe(self, user):
        sentences = []
        if CardApplication.objects.filter(applicant=user, state__in=OPEN_STATES).exists():
            sentences.append(
                _(
                    "Your open social security card application is withdrawn; no card will "
                    "be made from it."
                )
            )
        if CardApplication.objects.filter(applicant=user).exclude(photo="").exists():
            sentences.append(_("The photos you uploaded for your card are deleted."))
        if Card.objects.filter(holder=user, state="active").exists():
            sentences.append(
                _(
                    "Your social security card stays valid. To block it, report it lost before "
                    "you close your account, or call the district hotline."
                )
            )
        return sentences

    def apply(self, user, now):
        from django.db import transaction

        from portal.workflow import transition

        for application in CardApplication.objects.filter(applicant=user, state__in=OPEN_STATES):
            transition(
                application, ApplicationState.WITHDRAWN, by=user, step="account_closed", at=now
            )
        names = []
        for application in CardApplication.objects.filter(applicant=user).exclude(photo=""):
            names.append(application.photo.name)
        CardApplication.objects.filter(applicant=user).update(photo="")

        def delete_files():
            from .models import photo_storage

            for name in names:
                photo_storage.delete(name)

        transaction.on_commit(delete_files)
