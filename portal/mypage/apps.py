from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MyPageConfig(AppConfig):
    name = "portal.mypage"
    label = "mypage"
    verbose_name = _("My page")

    def ready(self):
        from .panels import connect_invalidation

        # After every app's ready(): panels are registered through Wagtail hooks.
        connect_invalidation()
