"""One exception handler: every API error leaves as `{"error": {type, code, message, param}}`."""

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from payments.errors import ErrorCode, ErrorType, PaydeskError

logger = logging.getLogger("payments.api")

_DRF_CODES = {
    "required": ErrorCode.PARAMETER_MISSING,
    "null": ErrorCode.PARAMETER_MISSING,
    "parameter_unknown": ErrorCode.PARAMETER_UNKNOWN,
}


def error_body(
    error_type: str, code: str, message: str, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"type": error_type, "code": code, "message": message, "param": param}}


def _first_validation_error(detail: Any, path: list[str]) -> tuple[str | None, Any]:
    """Walk DRF's nested error detail to the first leaf; return (param path, ErrorDetail)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            step = [] if key in ("non_field_errors",) else [str(key)]
            return _first_validation_error(value, path + step)
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, (dict, list)):
            return _first_validation_error(first, path)
        return _param_name(path), first
    return _param_name(path), detail


def _param_name(path: list[str]) -> str | None:
    if not path:
        return None
    return path[0] + "".join(f"[{part}]" for part in path[1:])


def _translate(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    if isinstance(exc, PaydeskError):
        headers = {"WWW-Authenticate": 'Bearer realm="paydesk"'} if exc.http_status == 401 else {}
        return exc.http_status, {"error": exc.as_dict()}, headers
    if isinstance(exc, exceptions.ValidationError):
        param, detail = _first_validation_error(exc.detail, [])
        code = _DRF_CODES.get(getattr(detail, "code", ""), ErrorCode.PARAMETER_INVALID)
        message = str(detail)
        if param:
            message = f"{param}: {message}"
        return 400, error_body(ErrorType.INVALID_REQUEST, code, message, param), {}
    if isinstance(exc, exceptions.ParseError):
        return (
            400,
            error_body(
                ErrorType.INVALID_REQUEST,
                ErrorCode.INVALID_JSON,
                "The request body is not valid JSON.",
            ),
            {},
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = error_body(
            ErrorType.AUTHENTICATION,
            ErrorCode.AUTHENTICATION_REQUIRED,
            "Provide your API key as 'Authorization: Bearer sk_…'.",
        )
        return 401, body, {"WWW-Authenticate": 'Bearer realm="paydesk"'}
    if isinstance(exc, exceptions.PermissionDenied):
        return (
            403,
            error_body(ErrorType.PERMISSION, ErrorCode.INSUFFICIENT_SCOPE, str(exc.detail)),
            {},
        )
    if isinstance(exc, exceptions.NotFound | Http404):
        return (
            404,
            error_body(ErrorType.INVALID_REQUEST, ErrorCode.RESOURCE_MISSING, "Not found."),
            {},
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return (
            405,
            error_body(ErrorType.INVALID_REQUEST, ErrorCode.METHOD_NOT_ALLOWED, str(exc.detail)),
            {},
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        body = error_body(
            ErrorType.INVALID_REQUEST,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Send JSON with 'Content-Type: application/json'.",
        )
        return 415, body, {}
    if isinstance(exc, exceptions.APIException):
        return (
            exc.status_code,
            error_body(ErrorType.INVALID_REQUEST, ErrorCode.PARAMETER_INVALID, str(exc.detail)),
            {},
        )
    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc)
    logger.exception("Unhandled API error")
    body = error_body(
        ErrorType.API, ErrorCode.INTERNAL_ERROR, "An internal error occurred. It has been logged."
    )
    return 500, body, {}


def _database_unavailable(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The database is unreachable, restarting or out of pooled connections: not the
    client's fault, and nothing a retry with the same Idempotency-Key cannot mend."""
    logger.error("Database unavailable: %s: %s", type(exc).__name__, exc)
    body = error_body(
        ErrorType.API,
        ErrorCode.SERVICE_UNAVAILABLE,
        "The service is briefly unavailable. Retry with the same Idempotency-Key.",
    )
    return 503, body, {"Retry-After": "1"}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    status, body, headers = _translate(exc)
    return Response(body, status=status, headers=headers)


def json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(body, status=status, headers=headers)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(
        404,
        error_body(
            ErrorType.INVALID_REQUEST, ErrorCode.RESOURCE_MISSING, "Unrecognized request URL."
        ),
    )


def api_server_error(request: HttpRequest) -> JsonResponse:
    """Django's 500 for API paths: an error outside DRF's views (a middleware's query). Django
    calls it while handling the exception, so a lost database is still told apart."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return json_error(*_database_unavailable(exc))
    return json_error(
        500,
        error_body(
            ErrorType.API,
            ErrorCode.INTERNAL_ERROR,
            "An internal error occurred. It has been logged.",
        ),
    )
