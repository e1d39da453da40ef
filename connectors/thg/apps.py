from django.apps import AppConfig


class THGConfig(AppConfig):
    name = "connectors.thg"
    label = "thg"
    verbose_name = "THG"
