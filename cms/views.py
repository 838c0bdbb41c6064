from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from wagtail.contrib.sitemaps.views import sitemap as wagtail_sitemap
from wagtail.models import Site


@require_GET
def sitemap(request):
    """Wagtail's sitemap of the site answering this host; a 404 when no site does."""
    try:
        site = Site.find_for_request(request)
    except Site.DoesNotExist:
        site = None
    if site is None:
        raise Http404
    return wagtail_sitemap(request)


PRIVATE_PATHS = ["/admin/", "/accounts/", "/me/", "/inbox/", "/health/", "/fhir/", "/api/"]


@require_GET
@cache_control(public=True, max_age=3600)
def robots_txt(request):
    lines = ["User-agent: *", *[f"Disallow: {path}" for path in PRIVATE_PATHS]]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('cms:sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
def search(request):
    """Site search: `?q=` (Chinese in either script, English), best first, 20 a page."""
    from django.core.paginator import Paginator
    from django.shortcuts import render

    from .search import MAX_QUERY_LENGTH, ranked_page_ids, specific_pages

    query = request.GET.get("q", "").strip()
    too_long = len(query) > MAX_QUERY_LENGTH
    ids = ranked_page_ids(query[:MAX_QUERY_LENGTH]) if query else []
    page = Paginator(ids, 20).get_page(request.GET.get("page"))
    page.object_list = specific_pages(list(page.object_list))
    return render(
        request,
        "cms/search.html",
        {"query": query, "results": page, "too_long": too_long, "searched": bool(query)},
    )
