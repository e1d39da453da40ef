from django.apps import AppConfig


class TikTokConfig(AppConfig):
    name = "connectors.tiktok"
    label = "tiktok"
    verbose_name = "TikTok Shop"
