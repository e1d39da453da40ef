"""System checks for the settings the sync engine depends on."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_q_cluster_retry(app_configs, **kwargs):
    cluster = getattr(settings, "Q_CLUSTER", {})
    timeout = cluster.get("timeout")
    retry = cluster.get("retry")
    if timeout is not None and retry is not None and retry <= timeout:
        return [
            Error(
                f"Q_CLUSTER['retry'] ({retry}) does not exceed "
                f"Q_CLUSTER['timeout'] ({timeout}).",
                hint="Set retry above timeout, or django-q2 hands a task that "
                "is still running to a second worker.",
                id="connectors.E001",
            )
        ]
    return []
