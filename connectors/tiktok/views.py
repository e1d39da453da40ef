"""The hub's TikTok Shop endpoints: Connect, the OAuth callback, webhooks."""

import json
import logging

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from connectors.errors import ChannelError
from connectors.inbound import BodyTooLarge, read_body, store_event
from connectors.models import Connector

from . import events, oauth
from .signing import verify_webhook

logger = logging.getLogger(__name__)


def _connector_page(connector: Connector) -> str:
    return reverse("admin:connectors_connector_change", args=[connector.pk])


@require_GET
@staff_member_required
def connect(request, pk: int):
    """Send a staff user to TikTok's authorization page for this connector.

    ``?shop_id=`` picks one of several authorized shops.
    """
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.TIKTOK_SHOP)
    if not connector.tiktok_app_key or not connector.tiktok_app_secret:
        messages.error(
            request,
            "Enter the app key and app secret from TikTok Partner Center before "
            "connecting.",
        )
        return redirect(_connector_page(connector))
    if not connector.tiktok_service_id and not connector.auth_url:
        messages.error(
            request,
            "Enter the service id from TikTok Partner Center before connecting.",
        )
        return redirect(_connector_page(connector))
    state = oauth.make_state(connector, request.user, request.GET.get("shop_id", ""))
    return redirect(oauth.authorize_url(connector, state))


@require_GET
@staff_member_required
def callback(request):
    """Finish the connection TikTok's authorization page sent the seller back from."""
    try:
        state = oauth.read_state(request.GET.get("state", ""))
    except oauth.AuthorizationError as exc:
        messages.error(request, f"TikTok Shop was not connected: {exc}")
        return redirect("admin:index")
    connector = Connector.objects.filter(
        pk=state.get("connector"), kind=Connector.Kind.TIKTOK_SHOP
    ).first()
    if connector is None:
        messages.error(
            request, "TikTok Shop was not connected: the connector no longer exists."
        )
        return redirect("admin:index")
    if state.get("user") != request.user.pk:
        messages.error(
            request,
            "TikTok Shop was not connected: the connection was started by another "
            "user. Click Connect yourself.",
        )
        return redirect(_connector_page(connector))

    shop_id = state.get("shop_id") or request.GET.get("shop_id", "")
    try:
        shop = oauth.complete_authorization(
            connector, request.GET.get("code", ""), shop_id=shop_id
        )
    except (oauth.AuthorizationError, ChannelError) as exc:
        logger.warning("Connector %s: TikTok connection failed: %s", connector.pk, exc)
        messages.error(request, f"TikTok Shop was not connected: {exc}")
        return redirect(_connector_page(connector))
    messages.success(
        request,
        f"Connected to TikTok Shop: {shop.name} ({shop.region}, shop id {shop.id}).",
    )
    return redirect(_connector_page(connector))


@csrf_exempt
@require_POST
def webhook(request, key: str):
    """Verify, store once and acknowledge a TikTok webhook; a task processes it."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > events.MAX_BODY_BYTES:
        return HttpResponse("Body over 1 MB.", status=413)
    connector = get_object_or_404(Connector, key=key, kind=Connector.Kind.TIKTOK_SHOP)
    try:
        body = read_body(request, events.MAX_BODY_BYTES)
    except BodyTooLarge:
        return HttpResponse("Body over 1 MB.", status=413)
    if not verify_webhook(
        connector.tiktok_app_key,
        connector.tiktok_app_secret,
        body,
        request.headers.get("Authorization"),
    ):
        logger.warning("Connector %s: webhook with an invalid signature", connector.pk)
        return HttpResponse("Invalid Authorization signature.", status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return HttpResponse("The body is not a JSON object.", status=400)
    event, created = store_event(
        connector, events.event_id(payload, body), events.event_type(payload), body
    )
    if not created:
        logger.info(
            "Connector %s: webhook %s received again", connector.pk, event.external_id
        )
    return JsonResponse({"code": 0, "message": "success"})
