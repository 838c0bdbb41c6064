"""Type-level searches answered as searchset Bundles, for the REST API and for Bundle
entries alike: stored types through search.py, projected types through projections.py."""

from . import projections
from .responses import bundle_text, match_entry, page_links
from .search import build_search, fetch


def run_search(resource_type, params, requester, base, url):
    """Run a type-level search and return the searchset Bundle as JSON text (audited)."""
    if projections.is_projected(resource_type):
        return _projection_search(resource_type, params, requester, base, url)
    search = build_search(resource_type, params, requester)
    page = fetch(search, requester)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    if search.summary_count:
        return bundle_text(bundle, [])
    bundle["link"] = page_links(
        url, params, search.offset, search.count, page.total, len(page.matches), page.more
    )
    entries = [match_entry(r, base) for r in page.matches]
    entries += [match_entry(r, base, mode="include") for r in page.included]
    return bundle_text(bundle, entries)


def _projection_search(resource_type, params, requester, base, url):
    """A search of a type another app projects (projections.py), bundled like the store's."""
    matches, total, count = projections.search(resource_type, params, requester)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [projections.self_link(url, params, count)]
    return bundle_text(bundle, [match_entry(r, base) for r in matches])
