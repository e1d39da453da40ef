"""HTTP endpoints of the fake THG API: the token call and ``/v1``.

The views parse the request, call one service and send its result as JSON.
:func:`api_view` applies what every data call shares: the bearer check,
fault mode and the 403 of an inactive connection.
"""

import functools
import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import faults, orders, returns, stock, tokens
from .errors import APIError, validation_error
from .faults import Admission
from .models import FAULT_TOKEN_EXPIRED, FAULT_TRUNCATED_BODY, SandboxAccount
from .pagination import paginate, parse_list_parameters

logger = logging.getLogger(__name__)


def _method_not_allowed(allowed: tuple[str, ...]) -> JsonResponse:
    error = APIError(
        405,
        "MethodNotAllowed",
        f"This path accepts {', '.join(allowed)} only.",
        headers={"Allow": ", ".join(allowed)},
    )
    return error.response()


def _faulty(response: HttpResponse, admission: Admission) -> HttpResponse:
    if admission.fault != FAULT_TRUNCATED_BODY:
        return response
    return HttpResponse(
        faults.truncate(response.content),
        status=200,
        content_type="application/json",
    )


def _admit(request) -> tuple[SandboxAccount, Admission]:
    """Authenticate a data call and run fault mode; raise APIError to reject it."""
    account, expired = tokens.authenticate(request.headers.get("Authorization"))
    if expired:
        faults.record_fault(account, FAULT_TOKEN_EXPIRED)
        raise tokens.expired_by_calls_error()
    admission = faults.admit(account)
    if admission.fault in faults.REPLACING_FAULTS:
        raise faults.replacement_error(admission.fault)
    faults.slow_down(admission)
    if not account.active:
        raise APIError(
            403,
            "ConnectionNotActive",
            f"THG has not activated the connection for client "
            f"{account.client_id} yet. Send the hub's username and password "
            "to THG support and wait for activation.",
        )
    return account, admission


def api_view(*methods: str):
    """Make a ``handler(request, account, ...)`` a data endpoint for ``methods``."""

    def decorator(handler):
        @csrf_exempt
        @functools.wraps(handler)
        def view(request, *args, **kwargs):
            if request.method not in methods:
                return _method_not_allowed(methods)
            admission = Admission()
            try:
                account, admission = _admit(request)
                response = handler(request, account, *args, **kwargs)
            except APIError as error:
                log = logger.error if error.status >= 500 else logger.info
                log(
                    "THG sandbox %s %s: %s %s",
                    request.method,
                    request.path,
                    error.status,
                    error.code,
                )
                response = error.response()
            return _faulty(response, admission)

        return view

    return decorator


def _json_body(request):
    try:
        return json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise validation_error(
            "", f"The request body is not valid JSON ({exc}). Send a JSON object."
        ) from None


@csrf_exempt
def token(request, realm: str):
    """``POST /realms/{realm}/protocol/openid-connect/token``."""
    if request.method != "POST":
        response = JsonResponse(
            {"error": "invalid_request", "error_description": "Use POST."},
            status=405,
        )
        response["Allow"] = "POST"
        return response

    account = tokens.find_realm_account(realm)
    admission = Admission()
    if account is not None:
        admission = faults.admit(account, token_call=True)
        if admission.fault in faults.REPLACING_FAULTS:
            return faults.replacement_error(admission.fault).response()
        faults.slow_down(admission)

    client_id, client_secret = tokens.client_credentials(
        request.POST, request.headers.get("Authorization")
    )
    try:
        body = tokens.issue_token(
            realm, request.POST.get("grant_type"), client_id, client_secret
        )
    except tokens.TokenError as error:
        return _faulty(JsonResponse(error.body, status=error.status), admission)
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return _faulty(response, admission)


def _page(items: list, next_cursor: str | None) -> JsonResponse:
    return JsonResponse({"data": items, "meta": {"next": next_cursor}})


@api_view("GET")
def warehouses(request, account):
    items = [
        {"id": warehouse.warehouse_id, "name": warehouse.name}
        for warehouse in account.warehouses.order_by("warehouse_id")
    ]
    return _page(items, None)


@api_view("GET")
def order_list(request, account):
    parameters = parse_list_parameters(request.GET)
    rows, next_cursor = paginate(account.orders.all(), parameters, "order_id")
    return _page([row.payload for row in rows], next_cursor)


@api_view("GET")
def order_detail(request, account, order_id: str):
    return JsonResponse(orders.get_order(account, order_id).payload)


@api_view("POST")
def acknowledgement(request, account, order_id: str):
    orders.acknowledge(account, order_id)
    return HttpResponse(status=204)


@api_view("POST")
def dispatches(request, account, order_id: str):
    orders.get_order(account, order_id)
    dispatch, status = orders.dispatch(account, order_id, _json_body(request))
    return JsonResponse(dispatch, status=status)


@api_view("PUT")
def stock_update(request, account):
    try:
        body = _json_body(request)
    except APIError:
        stock.log_rejected_call(account, None)
        raise
    return JsonResponse(stock.update_stock(account, body))


@api_view("GET", "POST")
def return_collection(request, account):
    if request.method == "POST":
        created, status = returns.create_return_from_hub(account, _json_body(request))
        return JsonResponse(created, status=status)
    parameters = parse_list_parameters(request.GET)
    rows, next_cursor = paginate(account.returns.all(), parameters, "return_id")
    return _page([row.payload for row in rows], next_cursor)


@api_view("POST")
def receipt(request, account, return_id: str):
    returns.get_return(account, return_id)
    return JsonResponse(returns.receive(account, return_id, _json_body(request)))


@api_view("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown_path(request, account, rest: str):
    raise APIError(
        404,
        "NotFoundException",
        f"No endpoint at {request.path}. Check the path against the THG API.",
    )
