"""The rules of social security cards, called by the resident's pages, the officers' admin
views, account closure and the demo. Every status change goes through
`portal.workflow.transition()` with a step of workflows.py."""

from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import scoping
from portal.cases.identity import normalise
from portal.cases.models import Office
from portal.workflow import System, transition

from .models import (
    OPEN_STATES,
    ApplicationState,
    Card,
    CardApplication,
    CardState,
    ProductionBatch,
)

S = ApplicationState
PERSONAL_FIELDS = ("full_name", "date_of_birth", "id_number", "phone", "street", "address")
APPLICATION_FIELDS = (*PERSONAL_FIELDS, "collection_point")


class CardError(Exception):
    """A card rule refused something; `str()` is the translated message for the page."""

    def __init__(self, message):
        self.message = message
        super().__init__(str(message))

    def __str__(self):
        return str(self.message)


ALREADY_OPEN = _(
    "You already have an open application for a social security card. You can follow it on "
    "My page; a new one can be started once it is finished."
)


def collect_days():
    return int(getattr(settings, "CARDS_COLLECT_DAYS", 60))


def collection_points():
    """Where a card can be collected: the service centre and the street offices."""
    return Office.objects.filter(is_active=True).order_by("kind", "code")


# Reading -------------------------------------------------------------------------------------


def applications_of(user):
    return CardApplication.objects.filter(applicant=user)


def application_for(user, pk):
    """The user's own application with this id, or None (another's is not found either)."""
    if not isinstance(pk, int):
        return None
    return (
        applications_of(user)
        .select_related("collection_point", "street", "replaces")
        .filter(pk=pk)
        .first()
    )


def open_application(user):
    return (
        applications_of(user)
        .filter(state__in=OPEN_STATES)
        .select_related("collection_point")
        .first()
    )


def card_for(user, pk):
    if not isinstance(pk, int):
        return None
    return Card.objects.filter(holder=user, pk=pk).select_related("application").first()


def prefill(user):
    """The form's first answers: from the resident's profile and verified identity number, or
    from their last application."""
    last = applications_of(user).order_by("-created_at", "-pk").first()
    if last is not None:
        return {name: getattr(last, name) for name in (*PERSONAL_FIELDS, "collection_point")}
    profile = getattr(user, "profile", None)
    identity = getattr(user, "identity", None) if hasattr(user, "identity") else None
    street = profile.street if profile is not None else None
    initial = {
        "full_name": getattr(profile, "display_name", ""),
        "phone": getattr(profile, "phone", ""),
        "street": street,
        "id_number": identity.id_number if identity is not None else "",
    }
    if street is not None:
        office = collection_points().filter(community_id=street.community_id).first()
        if office is not None:
            initial["collection_point"] = office
    return initial


# The resident's side -------------------------------------------------------------------------


def _set_photo(application, photo):
    """Store an uploaded photo (already checked: `photo` is (upload, PhotoInfo))."""
    upload, info = photo
    old = application.photo.name if application.photo else ""
    application.photo_type = info.content_type
    application.photo_width = info.width
    application.photo_height = info.height
    upload.seek(0)
    application.photo.save("photo", ContentFile(upload.read()), save=False)
    return old


def _delete_file(name):
    if name:
        from .models import photo_storage

        photo_storage.delete(name)


def _fill(application, data):
    for name in APPLICATION_FIELDS:
        if name in data:
            value = data[name]
            if name == "id_number":
                value = normalise(value)
            setattr(application, name, value)


def start(user, data, photo, *, step="start", replaces=None):
    """A new draft application with `data` and the checked photo; one open per person."""
    application = CardApplication(applicant=user)
    _fill(application, data)
    if replaces is not None:
        application.kind = CardApplication.Kind.REPLACEMENT
        application.replaces = replaces
    if photo is not None:
        _set_photo(application, photo)
    try:
        with transaction.atomic():
            transition(application, S.DRAFT, by=user, step=step)
    except IntegrityError:
        _delete_file(application.photo.name if application.photo else "")
        raise CardError(ALREADY_OPEN) from None
    except Exception:
        _delete_file(application.photo.name if application.photo else "")
        raise
    return application


def _locked(application, states):
    """The application row, locked, if it is still in one of `states`."""
    row = CardApplication.objects.select_for_update().filter(pk=application.pk).first()
    if row is None or row.state not in states:
        return None
    return row


def update_draft(application, data, photo):
    """Change the answers of a draft (or of an application sent back for correction)."""
    with transaction.atomic():
        row = _locked(application, (S.DRAFT, S.CORRECTION))
        if row is None:
            raise CardError(_("This application can no longer be changed."))
        _fill(row, data)
        old = ""
        if photo is not None:
            old = _set_photo(row, photo)
        row.save()
        if old:
            transaction.on_commit(lambda: _delete_file(old))
    return row


def submit(application, *, by):
    if not application.photo:
        raise CardError(_("Add a photo before you send the application."))
    return transition(application, S.SUBMITTED, by=by, values={"submitted_at": timezone.now()})


def resubmit(application, data, photo, *, by):
    """Correct an application the office sent back, and send it again, in one transaction."""
    with transaction.atomic():
        row = update_draft(application, data, photo)
        transition(row, S.RESUBMITTED, by=by, values={"submitted_at": timezone.now()})
    return row


def withdraw(application, *, by):
    return transition(application, S.WITHDRAWN, by=by, step="withdraw")


def report_lost(card, *, by):
    """Block the card at once and start a replacement application with the details (and the
    photo) of the one the card was made from. Returns the replacement, or None when the
    resident already has an open application (the card is blocked all the same)."""
    with transaction.atomic():
        transition(
            card,
            CardState.BLOCKED,
            by=by,
            step="report_lost",
            values={"blocked_at": timezone.now()},
        )
    source = card.application
    if open_application(card.holder) is not None:
        return None
    data = {name: getattr(source, name) for name in APPLICATION_FIELDS}
    replacement = CardApplication(applicant=card.holder)
    _fill(replacement, data)
    replacement.kind = CardApplication.Kind.REPLACEMENT
    replacement.replaces = card
    if source.photo:
        try:
            with source.photo.open("rb") as handle:
                content = handle.read()
        except FileNotFoundError:
            content = None
        if content:
            replacement.photo_type = source.photo_type
            replacement.photo_width = source.photo_width
            replacement.photo_height = source.photo_height
            replacement.photo.save("photo", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            transition(replacement, S.DRAFT, by=by, step="start_replacement")
    except IntegrityError:
        _delete_file(replacement.photo.name if replacement.photo else "")
        return None
    return replacement


# Officers --------------------------------------------------------------------------------------


def office_applications(user):
    """The applications an officer may see: those collected at their offices."""
    return scoping.visible(user, CardApplication)


def approve(application, *, by, note=""):
    return transition(application, S.APPROVED, by=by, note=note, values={"correction_reason": ""})


def request_correction(application, reason, *, by, note=""):
    return transition(
        application,
        S.CORRECTION,
        by=by,
        reason=reason,
        note=note,
        values={"correction_reason": " ".join(str(reason or "").split())[:500]},
    )


def create_batch(office, applications, *, by):
    """A production batch of `office` from approved applications collected there. Every
    application moves to "in production" through its own transition; one that is not
    approved or not of this office refuses the whole batch (nothing is written)."""
    applications = list(applications)
    if not applications:
        raise CardError(_("Choose at least one approved application for the batch."))
    offices = scoping.units(by, CardApplication)
    if offices is not None and not offices.filter(pk=office.pk).exists():
        raise CardError(_("You do not work for this office."))
    with transaction.atomic():
        batch = ProductionBatch.objects.create(office=office, created_by=by)
        for application in applications:
            if application.collection_point_id != office.pk:
                raise CardError(_("An application of another office cannot join this batch."))
            transition(application, S.IN_PRODUCTION, by=by, values={"batch": batch})
    return batch


def mark_batch_ready(batch, *, by):
    """The batch's cards came back: each application still in production becomes ready, and
    the resident is told where to collect it and until when."""
    if batch.ready_at is not None:
        raise CardError(_("This batch is already marked ready."))
    until = timezone.localdate() + timedelta(days=collect_days())
    with transaction.atomic():
        won = ProductionBatch.objects.filter(pk=batch.pk, ready_at__isnull=True).update(
            ready_at=timezone.now()
        )
        if not won:
            raise CardError(_("This batch is already marked ready."))
        rows = batch.applications.filter(state=S.IN_PRODUCTION).select_related(
            "collection_point", "applicant"
        )
        for application in rows:
            transition(application, S.READY, by=by, values={"collect_by": until})
    batch.refresh_from_db()
    return batch


def record_collection(application, *, by):
    return transition(application, S.COLLECTED, by=by)


def card_number(application):
    return f"SC{application.pk:010d}"


def issue_card(application, *, at, by):
    """The card handed over at collection: recorded as valid for its holder."""
    card = Card(
        holder=application.applicant,
        application=application,
        number=card_number(application),
        issued_at=at,
    )
    transition(card, CardState.ACTIVE, by=System("collection", user=by))
    return card


def block_card(card, reason, *, by):
    return transition(
        card,
        CardState.BLOCKED,
        by=by,
        step="block",
        reason=reason,
        values={"blocked_at": timezone.now()},
    )
