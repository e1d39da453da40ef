"""Errors of the fake THG API, and the JSON bodies they are sent as."""

from django.http import JsonResponse

TITLES = {
    "ValidationException": "Invalid request",
    "HistoryLimitExceeded": "History limit exceeded",
    "UnauthorizedException": "Unauthorized",
    "ConnectionNotActive": "Connection not active",
    "NotFoundException": "Not found",
    "MethodNotAllowed": "Method not allowed",
    "ConflictException": "Conflict",
    "TooManyRequests": "Too many requests",
    "InternalError": "Internal error",
}


class SandboxError(Exception):
    """A sandbox set-up call was given something it cannot use."""


class APIError(Exception):
    """An error the API returns as ``{"errors": [...]}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        pointer: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.pointer = pointer
        self.headers = headers or {}

    def body(self) -> dict:
        error = {
            "status": str(self.status),
            "code": self.code,
            "title": TITLES.get(self.code, self.code),
            "detail": self.detail,
        }
        if self.pointer is not None:
            error["source"] = {"pointer": self.pointer}
        return {"errors": [error]}

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def validation_error(pointer: str, detail: str) -> APIError:
    return APIError(400, "ValidationException", detail, pointer=pointer)


def not_found(detail: str, *, pointer: str | None = None) -> APIError:
    return APIError(404, "NotFoundException", detail, pointer=pointer)


def conflict(detail: str, *, pointer: str | None = None) -> APIError:
    return APIError(409, "ConflictException", detail, pointer=pointer)
