from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import RedirectView

from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from health.fhir import views as fhir_views
from health.smart import views as smart_views
from portal.accounts import views as account_views
from portal.cases.api import api as cases_api


def favicon(request):
    # Resolved per request: with hashed static names the manifest exists only after collectstatic.
    return HttpResponsePermanentRedirect(static_url("img/favicon.svg"))


urlpatterns = [
    # Staff sign in through allauth too, so MFA applies to the back office.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="account_login", query_string=True),
        name="admin_login_redirect",
    ),
    path("favicon.ico", favicon),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("portal.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("language/", account_views.set_language, name="set_language"),
    path("me/", include("portal.mypage.urls")),
    path("inbox/", include("portal.notifications.urls")),
    # The FHIR base URL as clients write it (transaction/batch POST), without a redirect.
    # SMART App Launch: discovery at the FHIR base (and the site root), the authorisation
    # server, the resident's connected apps (health.smart).
    path(".well-known/smart-configuration", smart_views.smart_configuration),
    path(
        "fhir/.well-known/smart-configuration",
        smart_views.smart_configuration,
        name="smart-configuration",
    ),
    path("oauth/", include("health.smart.oauth_urls")),
    path("health/apps/", include("health.smart.urls")),
    path("fhir", fhir_views.root, name="fhir-base"),
    path("fhir/", include("health.fhir.urls")),
    path("health/", include("health.records.urls")),
    path("clinics/", include("health.booking.urls")),
    path("transit/", include("transit.urls")),
    path("services/", include("portal.cases.urls")),
    path("card/", include("portal.cards.urls")),
    path("api/cases/", cases_api.urls),
    path("", include("cms.urls")),
]

if settings.DEBUG:
    from django.urls import re_path

    from portal.security import serve_media

    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve_media),
    )

urlpatterns.append(path("", include(wagtail_urls)))
