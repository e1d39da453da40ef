"""The connector's Diagnose page in the admin.

:func:`doctor_urls` returns the URL pattern for ``ConnectorAdmin.get_urls``.
Opening the page runs every check, stores the result as the connector's
last report (shown on the connector page) and lists the findings.
"""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from connectors.models import Connector, DoctorReport

from .checks.stock import TOTALS
from .findings import evidence_lines, sort_findings
from .runner import run_doctor

URL_NAME = "connectors_connector_diagnose"


def doctor_urls(model_admin) -> list:
    """Return the Diagnose page's URL pattern, wrapped by the admin site."""
    view = partial(diagnose_view, model_admin)
    return [
        path(
            "<int:connector_id>/diagnose/",
            model_admin.admin_site.admin_view(view),
            name=URL_NAME,
        )
    ]


def _can_run_sync(request) -> bool:
    return request.user.has_perm("connectors.run_sync")


def diagnose_view(model_admin, request, connector_id):
    """Run every check on the connector and list the findings.

    A POST with ``resync`` queues a forced inventory resync through the
    admin's "Force inventory resync" action, then shows the page again.
    """
    connector = get_object_or_404(Connector, pk=connector_id)
    if not model_admin.has_view_permission(request, connector):
        raise PermissionDenied
    url = reverse(f"admin:{URL_NAME}", args=[connector.pk])
    if request.method == "POST":
        if "resync" not in request.POST or not _can_run_sync(request):
            raise PermissionDenied
        model_admin.force_inventory_resync(
            request, Connector.objects.filter(pk=connector.pk)
        )
        return redirect(url)
    report = run_doctor(connector, DoctorReport.Trigger.ADMIN)
    findings = [
        {**finding, "evidence_lines": evidence_lines(finding)}
        for finding in sort_findings(report.findings)
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": connector,
        "title": f"Diagnose {connector}",
        "report": report,
        "findings": findings,
        "offer_resync": _can_run_sync(request)
        and connector.inventory_enabled
        and any(finding["check"] == TOTALS for finding in findings),
    }
    return TemplateResponse(
        request, "admin/connectors/connector/diagnose.html", context
    )
