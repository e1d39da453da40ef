from django.apps import AppConfig


class TikTokSandboxConfig(AppConfig):
    name = "connectors.tiktok.sandbox"
    label = "tiktok_sandbox"
    verbose_name = "TikTok Shop sandbox"
