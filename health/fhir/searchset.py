"""Type-level searches answered as searchset Bundles, for the REST API and for Bundle
entries alike: stored types through search.py, projected types through projections.py."""

from . import projections
from .errors import operation_outcome
from .responses import bundle_text, entry_text, match_entry, page_links
from .search import build_search, fetch
from .wire import dumps


def run_search(
    resource_type, params, requester, base, url, *, lenient=False, budget=None, compartment=None
):
    """Run a type-level search and return the searchset Bundle as JSON text (audited).

    `lenient` leaves out parameters the server does not know (Prefer: handling=lenient)
    instead of refusing them; `budget` caps the page's bytes (Bundles give each entry a
    share of theirs).
    """
    if projections.is_projected(resource_type):
        return _projection_search(resource_type, params, requester, base, url)
    search = build_search(resource_type, params, requester, lenient=lenient)
    if compartment is not None:
        # Patient/X/Type: the resources filed in X's compartment.
        search.queryset = search.queryset.filter(patient_id=compartment)
    page = fetch(search, requester, budget=budget)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    if search.summary_count:
        return bundle_text(bundle, [])
    bundle["link"] = page_links(
        url, search.params, search.offset, search.count, page.total, len(page.matches), page.more
    )
    entries = [match_entry(r, base, shape=search.shape) for r in page.matches]
    entries += [match_entry(r, base, mode="include", shape=search.shape) for r in page.included]
    if page.truncated:
        entries.append(
            entry_text(
                None,
                dumps(
                    operation_outcome(
                        [
                            {
                                "severity": "warning",
                                "code": "too-costly",
                                "diagnostics": "Not every included resource is in this page: "
                                "ask for fewer matches per page (_count) to get them all",
                            }
                        ]
                    )
                ),
                search={"mode": "outcome"},
            )
        )
    return bundle_text(bundle, entries)


def _projection_search(resource_type, params, requester, base, url):
    """A search of a type another app projects (projections.py), bundled like the store's."""
    matches, total, count = projections.search(resource_type, params, requester)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [projections.self_link(url, params, count)]
    return bundle_text(bundle, [match_entry(r, base) for r in matches])
