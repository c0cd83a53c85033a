"""The domain error taxonomy. The API's exception handler turns these into the envelope
`{"error": {"type", "code", "message", "param"}}`; the back office shows `message`."""

from enum import StrEnum
from typing import Any


class ErrorType(StrEnum):
    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    CARD = "card_error"
    IDEMPOTENCY = "idempotency_error"
    API = "api_error"


class ErrorCode(StrEnum):
    """Every `error.code` the API can return."""

    PARAMETER_INVALID = "parameter_invalid"
    PARAMETER_MISSING = "parameter_missing"
    PARAMETER_UNKNOWN = "parameter_unknown"
    PARAMETER_DUPLICATED = "parameter_duplicated"
    AMOUNT_TOO_SMALL = "amount_too_small"
    AMOUNT_TOO_LARGE = "amount_too_large"
    CURRENCY_INVALID = "currency_invalid"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_NUMBER = "invalid_number"
    INVALID_EXPIRY_MONTH = "invalid_expiry_month"
    INVALID_EXPIRY_YEAR = "invalid_expiry_year"
    INVALID_CVC = "invalid_cvc"
    CARD_DECLINED = "card_declined"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    PROCESSING_ERROR = "processing_error"
    FRAUD_BLOCKED = "fraud_blocked"
    IP_BLOCKED = "ip_blocked"  # answered by fraud.middleware (403 permission_error)
    INVALID_JSON = "invalid_json"
    REQUEST_TOO_LARGE = "request_too_large"  # the body (API_MAX_BODY_BYTES)
    # Answered by gunicorn's parser before Django sees the request (config/http_errors.py).
    REQUEST_HEADER_TOO_LARGE = "request_header_too_large"
    REQUEST_URI_TOO_LARGE = "request_uri_too_large"
    REQUEST_MALFORMED = "request_malformed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RESOURCE_MISSING = "resource_missing"
    PAYMENT_UNEXPECTED_STATE = "payment_unexpected_state"
    REFUND_UNEXPECTED_STATE = "refund_unexpected_state"
    CHARGE_ALREADY_REFUNDED = "charge_already_refunded"
    REFUND_FAILED = "refund_failed"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    AUTHENTICATION_REQUIRED = "authentication_required"
    API_KEY_INVALID = "api_key_invalid"
    API_KEY_EXPIRED = "api_key_expired"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    SERVICE_UNAVAILABLE = "service_unavailable"  # the database could not be reached
    INTERNAL_ERROR = "internal_error"


# Error codes of gateway failures (unreachable, breaker open, no record) all start with this;
# declines never do. The API answers them 503: nothing was charged, try again later.
GATEWAY_ERROR_PREFIX = "gateway_"


class PaydeskError(Exception):
    http_status = 400
    error_type = ErrorType.INVALID_REQUEST

    def __init__(self, message: str, *, code: ErrorCode, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": str(self.error_type),
            "code": str(self.code),
            "message": self.message,
            "param": self.param,
        }


class InvalidRequest(PaydeskError):
    pass


class ResourceMissing(PaydeskError):
    http_status = 404

    def __init__(self, resource: str, resource_id: str, *, param: str | None = "id") -> None:
        super().__init__(
            f"No such {resource}: '{resource_id[:64]}'",
            code=ErrorCode.RESOURCE_MISSING,
            param=param,
        )


class AuthenticationFailed(PaydeskError):
    http_status = 401
    error_type = ErrorType.AUTHENTICATION


class PermissionDenied(PaydeskError):
    http_status = 403
    error_type = ErrorType.PERMISSION


class StateConflict(PaydeskError):
    """The object exists but its state does not allow the operation (illegal transition)."""

    http_status = 409


class IdempotencyError(PaydeskError):
    """Malformed Idempotency-Key."""

    error_type = ErrorType.IDEMPOTENCY


class IdempotencyKeyReused(IdempotencyError):
    """Same key, different request."""

    http_status = 422


class IdempotencyKeyInUse(IdempotencyError):
    """Same key while the first request is still running."""

    http_status = 409


class GatewayUnavailable(PaydeskError):
    http_status = 503
    error_type = ErrorType.API


class CardError(PaydeskError):
    """A decline. Carries the FAILED payment (or refund) so the caller sees what was
    recorded."""

    http_status = 402
    error_type = ErrorType.CARD

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode,
        decline_code: str | None = None,
        payment: dict[str, Any] | None = None,
        refund: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, param=None)
        self.decline_code = decline_code
        self.payment = payment
        self.refund = refund

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        if self.decline_code:
            body["decline_code"] = self.decline_code
        if self.payment is not None:
            body["payment"] = self.payment
        if self.refund is not None:
            body["refund"] = self.refund
        return body
