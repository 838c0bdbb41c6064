"""The authorisation server's endpoints, mounted at /oauth/: only those SMART App Launch
uses (django-oauth-toolkit's application management, device flow and dynamic client
registration are not served; superusers register apps in the Wagtail admin)."""

from django.urls import path, re_path

from oauth2_provider import views as oauth_views

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.ConsentView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
    re_path(
        r"^\.well-known/openid-configuration$",
        oauth_views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
]
