"""Staff scope: which objects of a model a user may see, change or act on. The one place that
answers it; admin views and viewsets, the day list, APIs, panels, reports and the workflow's
"staff of the object's scope" all ask here.

The rule per role:

- superusers: everything;
- clinic staff: the objects of the clinics they are staff of (booking registers its models);
- case officers: the cases of their office (the cases app registers `Case` the same way),
  and the card applications, production batches and cards of the offices where the cards
  are collected (portal/cards/scopes.py);
- editors: pages, through Wagtail's own page permissions (see `pages_for`);
- anyone else (residents, anonymous): nothing, whatever Django permissions say.

An app registers each scoped model once, with the path from the model to its unit (a clinic,
an office) and a function giving the units a user works for:

    from portal import scoping

    scoping.register(Appointment, path="slot__clinic", units=clinics_of)

A user also needs the model's Django permission for the action (`view`, `change`, `add`,
`delete`; `act`, a status change, needs `change`), so a group's permissions still say what
a role may do, and the scope says to which objects. A model nobody registered is not scoped:
the permission alone decides (the clinic service catalogue, for example).
"""

from dataclasses import dataclass

from django.db.models import Model, QuerySet

VIEW, ADD, CHANGE, DELETE, ACT = "view", "add", "change", "delete", "act"
ACTIONS = (VIEW, ADD, CHANGE, DELETE, ACT)
# The Django permission each action needs; a status change is a change.
PERMISSION_OF = {VIEW: "view", ADD: "add", CHANGE: "change", DELETE: "delete", ACT: "change"}


@dataclass(frozen=True)
class Scope:
    """How one model is scoped: `path` leads from the model to its unit ("clinic",
    "slot__clinic", "pk" for the unit model itself); `units(user)` is a queryset of the units
    the user works for."""

    path: str
    units: object


_scopes = {}


def register(model, *, path, units):
    """Scope `model` to the units (clinics, offices) a user works for. Call once, from the
    app's AppConfig.ready()."""
    _scopes[model] = Scope(path=path, units=units)


def scope_of(model):
    """The Scope registered for `model` (or its concrete parent), or None."""
    model = model._meta.concrete_model
    return _scopes.get(model)


def scoped_models():
    return list(_scopes)


def _active(user):
    return user is not None and user.is_authenticated and user.is_active


def has_permission(user, model, action=VIEW):
    """Whether the user's role may do `action` on `model` at all (its Django permission)."""
    if action not in PERMISSION_OF:
        raise ValueError(f"Unknown scope action {action!r}")
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.{PERMISSION_OF[action]}_{opts.model_name}")


def units(user, model):
    """The units (clinics, offices) whose `model` objects this user works on; None means all
    (superusers, or a model without a scope)."""
    scope = scope_of(model)
    if scope is None or (_active(user) and user.is_superuser):
        return None
    return scope.units(user)


def visible(user, queryset, action=VIEW):
    """`queryset` (or a model) narrowed to what the user may `action`: the one answer to "which
    objects of this model may this user see, change or act on"."""
    if not isinstance(queryset, QuerySet):
        queryset = queryset._default_manager.all()
    model = queryset.model
    if not has_permission(user, model, action):
        return queryset.none()
    allowed = units(user, model)
    if allowed is None:
        return queryset
    return queryset.filter(**{f"{scope_of(model).path}__in": allowed})


def allows(user, obj, action=VIEW):
    """Whether the user may `action` this one object (one query for a scoped model)."""
    if not isinstance(obj, Model) or obj.pk is None:
        return False
    return visible(user, type(obj)._default_manager.filter(pk=obj.pk), action).exists()


# -- Subjects: whose records staff may open -------------------------------------------------
#
# Some data is not a row with a unit but a person's record kept elsewhere (the FHIR store's
# Patients). Its scope is a set of ids: apps register *sources* (functions user -> ids) per
# kind of subject, and the layer that holds the records (health.fhir.access) asks
# `subjects(user, kind)` once per request and enforces the answer in every read and write.
# A *claimer* records that a user's units now know a subject (a nurse created a Patient:
# it is registered with her clinics).

PATIENTS = "health.patient"

_subject_sources = {}
_subject_claimers = {}


def register_subjects(kind, source, *, claim=None):
    """Add a source of the subjects of `kind` a user may open: `source(user)` returns ids
    (any iterable or a values_list queryset); `claim(user, ids)`, when given, records that
    the user's units now know those subjects. Call from AppConfig.ready()."""
    sources = _subject_sources.setdefault(kind, [])
    if source not in sources:
        sources.append(source)
    if claim is not None:
        claimers = _subject_claimers.setdefault(kind, [])
        if claim not in claimers:
            claimers.append(claim)


def subjects(user, kind):
    """The ids of the subjects of `kind` this user may open: None means all (superusers),
    an empty set nothing (residents, anonymous, staff whose units know nobody)."""
    if not _active(user):
        return frozenset()
    if user.is_superuser:
        return None
    found = set()
    for source in _subject_sources.get(kind, ()):
        found.update(source(user))
    return frozenset(found)


def claim(user, kind, ids):
    """Record that `ids` (subjects the user has just created) are known to the user's units,
    so they stay open to them in later requests."""
    ids = [i for i in ids if i]
    if not ids or not _active(user) or user.is_superuser:
        return
    for claimer in _subject_claimers.get(kind, ()):
        claimer(user, ids)
