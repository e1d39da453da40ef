"""The endpoint THG posts events to, with the merchant's username and password."""

import base64
import binascii
import json
import logging

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.inbound import BodyTooLarge, read_body, store_event
from connectors.models import Connector

logger = logging.getLogger(__name__)


def _unauthorized() -> HttpResponse:
    response = JsonResponse({"error": "Authentication required."}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="Junction THG events"'
    return response


def _credentials(request) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator:
        return None
    return username, password


def authenticate(connector: Connector, request) -> bool:
    credentials = _credentials(request)
    if credentials is None or not connector.inbound_username:
        return False
    username, password = credentials
    # Both checks always run, so the time taken does not reveal which failed.
    username_ok = constant_time_compare(username, connector.inbound_username)
    password_ok = connector.check_inbound_password(password)
    return username_ok and password_ok


@csrf_exempt
@require_POST
def events(request, connector_key: str):
    connector = get_object_or_404(Connector, key=connector_key, kind=Connector.Kind.THG)
    if not authenticate(connector, request):
        logger.warning("Connector %s: THG event refused: bad credentials", connector.pk)
        return _unauthorized()
    try:
        body = read_body(request)
    except BodyTooLarge:
        return JsonResponse({"error": "The body is over 1 MB."}, status=413)
    try:
        event = json.loads(body)
        event_id = str(event["id"])
        event_type = str(event["type"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": "The body is not a JSON event with an id and a type."}, status=400
        )
    if not event_id:
        return JsonResponse({"error": "The event id is empty."}, status=400)
    stored, created = store_event(connector, event_id, event_type, body)
    if connector.status == Connector.Status.AWAITING_ACTIVATION:
        connector.set_status(Connector.Status.CONNECTED)
    return JsonResponse(
        {"id": stored.external_id, "status": "accepted" if created else "duplicate"},
        status=202 if created else 200,
    )
