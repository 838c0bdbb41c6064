"""How card models are scoped for staff (portal.scoping): a case officer works on the
applications, batches and cards of the offices they are an officer of, where the card is
collected; superusers on all. Registered in CardsConfig.ready()."""

from portal import scoping
from portal.cases.scopes import offices_of  # one rule for the offices an officer works for

from .models import Card, CardApplication, ProductionBatch

# Each model, and the path from it to its office.
PATHS = {
    CardApplication: "collection_point",
    ProductionBatch: "office",
    Card: "application__collection_point",
}


def register():
    for model, path in PATHS.items():
        scoping.register(model, path=path, units=offices_of)
