"""How card models are scoped for staff (portal.scoping): a case officer works on the
applications, batches and cards of the offices they are an officer of, where the card is
collected; superusers on all. Registered in CardsConfig.ready()."""

from portal import scoping
from portal.cases.models import Office

from .models import Card, CardApplication, ProductionBatch


def offices_of(user):
    """The offices a case officer works for."""
    return Office.objects.filter(officers=user)


# Each model, and the path from it to its office.
PATHS = {
    CardApplication: "collection_point",
    ProductionBatch: "office",
    Card: "application__collection_point",
}


def register():
    for model, path in PATHS.items():
        scoping.register(model, path=path, units=offices_of)
