from django.apps import AppConfig


class ComponentsConfig(AppConfig):
    name = "portal.components"
    label = "components"
