"""Which portal accounts are linked to which Patients of the store.

A link lets an account read that Patient's compartment (access.py). health/records issues
links (activation codes); projections of other apps (clinic booking) use them to name the
Patient an account's data belongs to.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from .models import PatientLink, Resource


def linked_patient_ids(user):
    """Every Patient id the account is linked to (deleted Patients included)."""
    return frozenset(PatientLink.objects.filter(user=user).values_list("patient_id", flat=True))


def usable_links(user):
    """The account's links whose Patient still exists (not deleted), oldest first."""
    alive = Resource.objects.filter(
        resource_type="Patient", resource_id=OuterRef("patient_id"), deleted=False
    )
    return PatientLink.objects.filter(Exists(alive), user=user).order_by("linked_at", "pk")


def links_of(user):
    """(every Patient id the account is linked to, the first usable one or None) in one
    query: what a resident's Requester needs (linked_patient_ids) and the record they open
    (usable_links), read together."""
    alive = Resource.objects.filter(
        resource_type="Patient", resource_id=OuterRef("patient_id"), deleted=False
    )
    rows = (
        PatientLink.objects.filter(user=user)
        .annotate(usable=Exists(alive))
        .order_by("linked_at", "pk")
        .values_list("patient_id", "usable")
    )
    rows = list(rows)
    usable = next((patient_id for patient_id, alive in rows if alive), None)
    return frozenset(patient_id for patient_id, _alive in rows), usable


def request_links(request):
    """links_of() for the request's signed-in account, read once per request: My page's
    health and connected-apps panels both need them."""
    links = getattr(request, "_fhir_links", None)
    if links is None:
        links = request._fhir_links = links_of(request.user)
    return links


def has_links(user):
    """Whether the account has any link, usable or not."""
    return PatientLink.objects.filter(user=user).exists()


def first_patient_ids(user_ids):
    """{user id: the Patient id of the account's first link} for the accounts that have one."""
    out = {}
    rows = PatientLink.objects.filter(user_id__in=user_ids).order_by("pk")
    for user_id, patient_id in rows.values_list("user_id", "patient_id"):
        out.setdefault(user_id, patient_id)
    return out


def patient_ids_by_user(user_ids):
    """{user id: [Patient ids, oldest link first]} for the given accounts."""
    out = {}
    rows = PatientLink.objects.filter(user_id__in=user_ids).order_by("pk")
    for user_id, patient_id in rows.values_list("user_id", "patient_id"):
        out.setdefault(user_id, []).append(patient_id)
    return out


def linked_users(patient_ids):
    """The accounts linked to any of the Patients, in a stable order."""
    users = get_user_model().objects.filter(patient_links__patient_id__in=list(patient_ids))
    return list(users.distinct().order_by("pk"))


def link(user, patient_id, requester):
    """Link an account to a Patient (idempotent); returns the PatientLink. A new link is
    audited on the Patient's trail (who gained access is part of who can see the record)."""
    with transaction.atomic(), requester.audit.writing() as audit:
        try:
            with transaction.atomic():
                created = PatientLink.objects.create(user=user, patient_id=patient_id)
        except IntegrityError:
            return PatientLink.objects.get(user=user, patient_id=patient_id)
        audit.add("update", "Patient", patient_id, patient_id, detail="account linked")
        return created
