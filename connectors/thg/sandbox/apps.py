from django.apps import AppConfig


class THGSandboxConfig(AppConfig):
    name = "connectors.thg.sandbox"
    label = "thg_sandbox"
    verbose_name = "THG sandbox"
