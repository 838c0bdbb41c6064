"""Service cases' part of "download all my data" and of "close my account".

Export: every case of the resident (drafts too) with its answers, dates, due date, pauses,
extensions, messages, the history as the resident reads it, and the documents themselves
(the ones they sent and the office's, decision documents included); the verified ID number.

Closure: a case that was sent is an administrative file of the office, which the law makes it
keep, and an application is not withdrawn because its applicant stops using the website. So:

- drafts (never sent) are deleted with their uploads;
- sent cases stay with the office, unlinked from the account: the applicant's name and phone
  are copied onto the case so the office can still reach them, and open cases go on being
  worked (the result is given at the office's window or by phone instead of online). The
  confirmation page names each open case and its office, and says the resident can withdraw
  it first;
- the verified ID number is deleted from the account (a new account can verify it again and
  then gets these cases back, like any case filed without an account);
- the resident's e-mail address is taken out of the cases' history rows.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import OPEN_STATES, Case, CaseState, ResidentIdentity, localized


def _history(case):
    from portal.workflow import history

    return [
        {"at": entry.at, "what": entry.title, "status": entry.state, "reason": entry.reason}
        for entry in history.timeline(case)
    ]


def _file_name(case, document):
    safe = "".join(ch for ch in document.filename if ch.isalnum() or ch in "._- ")[-100:]
    return f"cases/{case.reference or f'draft-{case.pk}'}/{document.pk}-{safe or 'document'}"


@register_export_part("cases", _("Applications and cases, with their documents"), order=45)
def export_cases(user, archive):
    cases = (
        Case.objects.filter(applicant=user)
        .select_related("service", "office")
        .prefetch_related("documents", "messages", "pauses", "extensions")
        .order_by("created_at", "pk")
    )
    rows = []
    for case in cases:
        documents = []
        for document in case.documents.all():
            name = _file_name(case, document)
            try:
                with document.file.open("rb") as handle:
                    archive.write_bytes(name, handle.read())
            except (FileNotFoundError, ValueError):
                name = None  # the file is gone from the store; its record is still listed
            documents.append(
                {
                    "file": name,
                    "filename": document.filename,
                    "kind": document.kind,
                    "type": document.content_type,
                    "size": document.size,
                    "uploaded_at": document.uploaded_at,
                }
            )
        rows.append(
            {
                "reference": case.reference,
                "service": localized(case.service, "name"),
                "office": localized(case.office, "name"),
                "status": case.state,
                "channel": case.channel,
                "answers": case.answers,
                "category": case.category,
                "created_at": case.created_at,
                "submitted_at": case.submitted_at,
                "received_on": case.received_on,
                "accepted_on": case.accepted_on,
                "decided_on": case.decided_on,
                "due_date": case.due_date,
                "due_date_provisional": case.due_provisional,
                "decision_reason": case.decision_reason,
                "how_to_get_the_result": case.result_note,
                "clock_stopped": [
                    {"from": p.started_on, "until": p.ended_on, "waiting_for": p.reason}
                    for p in case.pauses.all()
                ],
                "extensions": [
                    {"working_days": e.days, "reason": e.reason, "granted_at": e.granted_at}
                    for e in case.extensions.all()
                ],
                "messages": [
                    {
                        "from": "office" if m.from_office else "me",
                        "at": m.created_at,
                        "text": m.body,
                    }
                    for m in case.messages.all()
                ],
                "history": _history(case) if case.state != CaseState.DRAFT else [],
                "documents": documents,
            }
        )
    identity = ResidentIdentity.objects.filter(user=user).first()
    archive.write_json(
        "cases/cases.json",
        {
            "verified_id_number": identity.id_number if identity and identity.verified else None,
            "cases": rows,
        },
    )


@register_closure_rule("cases", order=45)
class CasesOnClosure:
    """See the module docstring: drafts go, sent cases stay with the office unlinked."""

    def _open(self, user):
        return (
            Case.objects.filter(applicant=user, state__in=OPEN_STATES)
            .select_related("office")
            .order_by("created_at", "pk")
        )

    def describe(self, user):
        sentences = []
        open_cases = list(self._open(user))
        if open_cases:
            listed = ", ".join(
                f"{case.reference} ({localized(case.office, 'name')}"
                + (f", {case.office.phone})" if case.office.phone else ")")
                for case in open_cases
            )
            sentences.append(
                ngettext(
                    "Your open application %(cases)s is not withdrawn: the office goes on "
                    "with it, but you will no longer follow it online. The office will "
                    "contact you by phone or at its window with the result. If you no longer "
                    "want it, withdraw it on its page before you close your account.",
                    "Your %(count)s open applications (%(cases)s) are not withdrawn: the "
                    "offices go on with them, but you will no longer follow them online. The "
                    "offices will contact you by phone or at their windows with the results. "
                    "If you no longer want one, withdraw it on its page before you close your "
                    "account.",
                    len(open_cases),
                )
                % {"count": len(open_cases), "cases": listed}
            )
        sent = Case.objects.filter(applicant=user).exclude(state=CaseState.DRAFT)
        if sent.exclude(state__in=OPEN_STATES).exists():
            sentences.append(
                _(
                    "Your finished applications stay with the offices that decided them, as "
                    "the law requires, but are no longer linked to an account."
                )
            )
        if Case.objects.filter(applicant=user, state=CaseState.DRAFT).exists():
            sentences.append(_("Your unsent drafts and their uploads are deleted."))
        return [str(sentence) for sentence in sentences]

    def apply(self, user, now):
        from portal.workflow.models import StateChange

        from .lifecycle import CASE

        profile = getattr(user, "profile", None)
        name = (getattr(profile, "display_name", "") or user.get_full_name() or "")[:80]
        phone = (getattr(profile, "phone", "") or "")[:16]
        identity = ResidentIdentity.objects.filter(user=user, verified_at__isnull=False).first()
        for draft in Case.objects.filter(applicant=user, state=CaseState.DRAFT):
            for document in draft.documents.all():
                document.file.delete(save=False)
            draft.delete()
        cases = Case.objects.filter(applicant=user)
        case_ids = [str(pk) for pk in cases.values_list("pk", flat=True)]
        cases.filter(applicant_name="").update(applicant_name=name)
        cases.filter(applicant_phone="").update(applicant_phone=phone)
        if identity is not None:
            cases.filter(applicant_id_number="").update(applicant_id_number=identity.id_number)
        cases.update(applicant=None, updated_at=now)
        StateChange.objects.filter(model=CASE.label, object_id__in=case_ids, actor=user).update(
            actor_label=""
        )
        ResidentIdentity.objects.filter(user=user).delete()
