"""How cases are scoped for staff (portal.scoping): case officers work on the cases of the
offices they are officers of; superusers on all. Registered in CasesConfig.ready()."""

from portal import scoping

from .models import Case, Office


def offices_of(user):
    """The offices a case officer works for (scoping asks; superusers never reach here)."""
    return Office.objects.filter(officers=user)


PATHS = {
    Case: "office",
}


def register():
    for model, path in PATHS.items():
        scoping.register(model, path=path, units=offices_of)
