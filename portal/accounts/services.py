"""The resident's own account: downloading all their data.

Views, tasks and tests call these functions; the rules live here only.
"""

import logging
import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .exports import Archive, export_parts
from .models import DataExport

logger = logging.getLogger(__name__)


def export_root():
    """Where archives are kept: outside the web root (not MEDIA_ROOT, not STATIC_ROOT)."""
    root = Path(settings.ACCOUNTS_EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def export_hours():
    return settings.ACCOUNTS_EXPORT_HOURS


def current_export(user):
    """The user's newest archive that is being built or can be downloaded, or None."""
    return (
        DataExport.objects.filter(
            user=user,
            status__in=[*DataExport.IN_PROGRESS, DataExport.Status.READY],
        )
        .order_by("-created_at")
        .first()
    )


def request_export(user):
    """Ask for a new archive. Returns (export, created): while one is being built, that one
    (created False) and nothing new starts. A ready archive is replaced by the new one."""
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user=user, parts_total=len(export_parts()))
    except IntegrityError:  # one is already waiting or being built (the unique constraint)
        return DataExport.objects.get(user=user, status__in=DataExport.IN_PROGRESS), False
    transaction.on_commit(lambda: queue_export(export.pk))
    return export, True


def _task(name):
    """A Celery task of this app by name (registered by apps.py), so that this module does not
    import tasks.py, which imports it."""
    from celery import current_app

    return current_app.tasks[f"portal.accounts.tasks.{name}"]


def queue_export(export_id):
    """Publish the build task; never raises (the periodic cleanup queues it again)."""
    try:
        _task("build_data_export").apply_async(args=[str(export_id)], retry=False)
    except Exception:
        logger.warning("Could not queue data export %s; the sweep will.", export_id, exc_info=True)


def build_export(export_id, *, now=None):
    """Build one archive, part by part, recording progress. Returns True if this call built it.

    The claim is a conditional update (pending -> building), so a task that runs twice builds
    once. The file is written under a temporary name and renamed when complete.
    """
    now = now or timezone.now()
    claimed = DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.BUILDING, started_at=now
    )
    if not claimed:
        return False
    export = DataExport.objects.select_related("user").get(pk=export_id)
    parts = export_parts()
    DataExport.objects.filter(pk=export.pk).update(parts_total=len(parts), parts_done=0)
    final = export_root() / f"{export.pk}.zip"
    partial = final.with_suffix(".zip.part")
    try:
        archive = Archive(partial)
        try:
            archive.write_text("README.txt", _readme(export, parts))
            for done, part in enumerate(parts, start=1):
                part.build(export.user, archive)
                DataExport.objects.filter(pk=export.pk).update(parts_done=done)
        finally:
            archive.close()
        os.replace(partial, final)
    except Exception:
        logger.exception("Data export %s failed", export.pk)
        partial.unlink(missing_ok=True)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED, finished_at=timezone.now()
        )
        return False
    finished = timezone.now()
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.READY,
            finished_at=finished,
            expires_at=finished + timedelta(hours=export_hours()),
            file_name=final.name,
            size=final.stat().st_size,
        )
        # Older ready archives of this user go now: one copy of a person's data is enough.
        for old in DataExport.objects.filter(
            user=export.user, status=DataExport.Status.READY
        ).exclude(pk=export.pk):
            _delete_file(old)
        _notify_ready(export)
    return True


def _readme(export, parts):
    lines = [
        "District Portal: all the data the portal holds about you",
        f"Prepared {timezone.localtime():%Y-%m-%d %H:%M} for account {export.user.email}",
        "",
        "Folders:",
    ]
    lines += [f"- {part.slug}/: {part.title}" for part in parts]
    return "\n".join(lines) + "\n"


def _notify_ready(export):
    from portal.notifications.services import notify

    notify(
        "accounts.data_export_ready",
        export.user,
        {"export": export},
        url=reverse("account_data_export"),
    )


def export_file(export):
    return export_root() / export.file_name if export.file_name else None


def _delete_file(export):
    path = export_file(export)
    if path is not None:
        path.unlink(missing_ok=True)
    DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.EXPIRED, size=0)


def clean_exports(*, now=None):
    """Periodic: delete archives past their time; queue again what never started; give up on
    builds a dead worker left. Returns how many archives were deleted."""
    now = now or timezone.now()
    expired = list(DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now))
    for export in expired:
        _delete_file(export)
    stale = now - timedelta(minutes=settings.ACCOUNTS_EXPORT_STALE_MINUTES)
    for export_id in DataExport.objects.filter(
        status=DataExport.Status.PENDING, created_at__lt=stale
    ).values_list("pk", flat=True):
        queue_export(export_id)
    DataExport.objects.filter(status=DataExport.Status.BUILDING, started_at__lt=stale).update(
        status=DataExport.Status.FAILED, finished_at=now
    )
    for leftover in export_root().glob("*.zip.part"):
        if leftover.stat().st_mtime < stale.timestamp():
            leftover.unlink(missing_ok=True)
    return len(expired)


# Close my account ------------------------------------------------------------------------------


class ClosureRefused(Exception):
    """The account cannot be closed this way; the message is shown to the resident."""


def close_account(user, *, now=None):
    """Close a resident's account: every registered closure rule applies, in one transaction;
    then the confirmation e-mail goes to the address the account had. Returns that address.

    What stays: the account row itself, as an inactive placeholder with no name, e-mail,
    password or profile, so the audit trail and the clinic's past appointments keep pointing at
    something; the e-mail address is free to sign up with again.
    """
    from .closure import closure_rules
    from .roles import is_staff_member

    if is_staff_member(user):
        raise ClosureRefused(_("Staff accounts are closed by an administrator."))
    now = now or timezone.now()
    address = user.email
    from portal.notifications.recipients import recipient_language_code

    language = recipient_language_code(user)
    with transaction.atomic():
        for rule in closure_rules():
            rule.apply(user, now)
    if address:
        transaction.on_commit(lambda: queue_closure_email(address, language))
    return address


def queue_closure_email(address, language):
    try:
        _task("send_closure_email").apply_async(args=[address, language], retry=False)
    except Exception:
        logger.warning("Could not queue the closure e-mail; sending it now.", exc_info=True)
        send_closure_email(address, language)


def send_closure_email(address, language):
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override(language):
        subject = " ".join(render_to_string("accounts/email/closed_subject.txt").split())
        body = render_to_string("accounts/email/closed.txt", {"base_url": settings.PORTAL_BASE_URL})
    send_mail(subject, body, None, [address])
