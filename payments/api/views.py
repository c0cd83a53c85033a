"""Merchant API views: thin callers of payments services and selectors."""

import logging
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import (
    CURSOR_PARAMS,
    MerchantAPIView,
    cursor_from_query,
    idempotency_key_header,
    query_params_check,
    rendered,
    stored_response,
    timestamp_from_query,
)
from payments.api.serializers import (
    CustomerCreateSerializer,
    CustomerListOut,
    CustomerOut,
    ErrorOut,
    PaymentCancelSerializer,
    PaymentCaptureSerializer,
    PaymentCreateSerializer,
    PaymentListOut,
    PaymentMethodCreateSerializer,
    PaymentMethodListOut,
    PaymentMethodOut,
    PaymentOut,
)
from payments.cards import card_input_validate
from payments.errors import (
    GATEWAY_ERROR_PREFIX,
    CardError,
    ErrorCode,
    GatewayUnavailable,
    InvalidRequest,
)
from payments.models import Payment, PaymentStatus
from payments.money import format_amount
from payments.representations import customer_dict, payment_dict, payment_method_dict
from payments.selectors import (
    PaymentFilters,
    customer_get,
    customer_list,
    customer_payment_method_list,
    payment_by_idempotency_key,
    payment_get,
    payment_list,
)
from payments.services.customers import customer_create, customer_payment_method_add
from payments.services.idempotency import DeferredClaim, StoredResponse
from payments.services.payments import payment_cancel, payment_capture, payment_create

logger = logging.getLogger("payments.api.PaymentController")

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key and body replay the first response (24 h).",
)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
# Decline codes that are their own error code; any other decline is `card_declined`.
_OWN_CODES = {
    ErrorCode.EXPIRED_CARD,
    ErrorCode.INCORRECT_CVC,
    ErrorCode.PROCESSING_ERROR,
    ErrorCode.FRAUD_BLOCKED,
}


def payment_answer(payment: Payment, success_status: int = 200) -> tuple[int, dict[str, Any]]:
    """The payment object, or the error a FAILED payment stands for (402 decline, 503 when
    the gateway could not be reached), with the payment inside the error."""
    body = payment_dict(payment)
    if payment.status != PaymentStatus.FAILED or not payment.error_code:
        return 202 if payment.status == PaymentStatus.PROCESSING else success_status, body
    if payment.error_code.startswith(GATEWAY_ERROR_PREFIX):
        error = GatewayUnavailable(payment.error_message, code=ErrorCode.GATEWAY_UNAVAILABLE)
        return error.http_status, {"error": {**error.as_dict(), "payment": body}}
    code = (
        ErrorCode(payment.error_code)
        if payment.error_code in _OWN_CODES
        else ErrorCode.CARD_DECLINED
    )
    error = CardError(
        payment.error_message or "Your card was declined.",
        code=code,
        decline_code=payment.error_code,
        payment=body,
    )
    return error.http_status, {"error": error.as_dict()}


def _log_answer(payment: Payment, action: str) -> None:
    logger.info(
        "Payment %s for amount %s %s with gateway %s",
        "failed" if payment.status == PaymentStatus.FAILED else action,
        format_amount(payment.amount, payment.currency),
        payment.currency,
        payment.gateway,
    )


def payment_response(payment: Payment, action: str, success_status: int = 200) -> Response:
    _log_answer(payment, action)
    status, body = payment_answer(payment, success_status)
    return Response(body, status=status)


class PaymentListCreateView(MerchantAPIView):
    required_scopes = {"GET": "payment:read", "POST": "payment:create"}
    # The hot path: the key is claimed by transaction 1, the answer stored by transaction 2.
    defers_idempotency_claim = True

    @extend_schema(
        operation_id="payments_create",
        request=PaymentCreateSerializer,
        responses={201: PaymentOut, 202: PaymentOut, 402: ErrorOut, 503: ErrorOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        description="Create and authorize a payment. A decline answers 402 `card_error` with the "
        "FAILED payment in `error.payment`; 3-D Secure answers 201 with status REQUIRES_ACTION.",
    )
    def post(self, request: Request) -> HttpResponse:
        data = self.validated(PaymentCreateSerializer, request.data)
        return self.claimed_by_service(lambda deferred: self._create(data, deferred))

    def render_created(self, created: Payment) -> StoredResponse:
        return rendered(*payment_answer(created, success_status=201))

    def _create(self, data: dict[str, Any], deferred: DeferredClaim | None) -> HttpResponse:
        key = idempotency_key_header(self.request) or ""
        if self.idempotency_taken_over:
            # The first request with this key died; if it got as far as creating the payment,
            # answer with that payment as it stands (recovery settles a PROCESSING one).
            existing = payment_by_idempotency_key(
                merchant=self.merchant, key=key, livemode=self.livemode
            )
            if existing is not None:
                return payment_response(existing, "recovered", success_status=200)
        card = None
        if "payment_method_data" in data:
            card = card_input_validate(**({"cvc": ""} | data["payment_method_data"]["card"]))
        payment = payment_create(
            merchant=self.merchant,
            amount=data["amount"],
            currency=data["currency"],
            card=card,
            payment_method_id=data.get("payment_method"),
            customer_id=data.get("customer"),
            capture_method=data.get("capture_method", "automatic"),
            description=data.get("description", ""),
            receipt_email=data.get("receipt_email", ""),
            metadata=data.get("metadata"),
            livemode=self.livemode,
            client_ip=data.get("client_ip"),
            idempotency_key=key,
            idempotency=deferred,
            billing_country=(
                data.get("payment_method_data", {})
                .get("billing_details", {})
                .get("address", {})
                .get("country", "")
            ),
            client_location=(
                (data["client_location"]["latitude"], data["client_location"]["longitude"])
                if "client_location" in data
                else None
            ),
        )
        if deferred is not None and deferred.response is not None:
            _log_answer(payment, "created")
            return stored_response(deferred.response)  # the very bytes stored with it
        return payment_response(payment, "created", success_status=201)

    @extend_schema(
        operation_id="payments_list",
        responses={200: PaymentListOut, **ERRORS},
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("starting_after", str),
            OpenApiParameter("ending_before", str),
            OpenApiParameter("status", str, enum=PaymentStatus.values),
            OpenApiParameter("customer", str),
            OpenApiParameter("created[gte]", int, description="Unix time"),
            OpenApiParameter("created[lte]", int, description="Unix time"),
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query_params_check(
            params, CURSOR_PARAMS | {"status", "customer", "created[gte]", "created[lte]"}
        )
        status = params.get("status")
        if status and status.upper() not in PaymentStatus.values:
            raise InvalidRequest(
                f"status must be one of {', '.join(PaymentStatus.values)}.",
                code=ErrorCode.PARAMETER_INVALID,
                param="status",
            )
        filters = PaymentFilters(
            status=status.upper() if status else None,
            customer_id=params.get("customer") or None,
            created_gte=timestamp_from_query(params, "created[gte]"),
            created_lte=timestamp_from_query(params, "created[lte]"),
        )
        page = payment_list(
            merchant=self.merchant,
            filters=filters,
            cursor=cursor_from_query(params),
            livemode=self.livemode,
        )
        return self.list_response(page, payment_dict)


class PaymentDetailView(MerchantAPIView):
    required_scopes = {"GET": "payment:read"}

    @extend_schema(operation_id="payments_retrieve", responses={200: PaymentOut, **ERRORS})
    def get(self, request: Request, payment_id: str) -> Response:
        return Response(
            payment_dict(
                payment_get(merchant=self.merchant, payment_id=payment_id, livemode=self.livemode)
            )
        )


class PaymentCaptureView(MerchantAPIView):
    required_scopes = {"POST": "payment:create"}

    @extend_schema(
        operation_id="payments_capture",
        request=PaymentCaptureSerializer,
        responses={200: PaymentOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        description="Capture an AUTHORIZED payment; `amount_to_capture` may be less than the "
        "amount (the rest of the hold is released).",
    )
    def post(self, request: Request, payment_id: str) -> Response:
        data = self.validated(PaymentCaptureSerializer, request.data)
        payment = payment_capture(
            merchant=self.merchant,
            payment_id=payment_id,
            amount=data.get("amount_to_capture"),
            livemode=self.livemode,
        )
        return payment_response(payment, "captured")


class PaymentCancelView(MerchantAPIView):
    required_scopes = {"POST": "payment:create"}

    @extend_schema(
        operation_id="payments_cancel",
        request=PaymentCancelSerializer,
        responses={200: PaymentOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, payment_id: str) -> Response:
        data = self.validated(PaymentCancelSerializer, request.data)
        payment = payment_cancel(
            merchant=self.merchant,
            payment_id=payment_id,
            reason=data.get("cancellation_reason", ""),
            livemode=self.livemode,
        )
        return payment_response(payment, "cancelled")


class CustomerListCreateView(MerchantAPIView):
    required_scopes = {"GET": "customer:read", "POST": "customer:write"}

    @extend_schema(
        operation_id="customers_create",
        request=CustomerCreateSerializer,
        responses={201: CustomerOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CustomerCreateSerializer, request.data)
        customer = customer_create(merchant=self.merchant, livemode=self.livemode, **data)
        return Response(customer_dict(customer), status=201)

    @extend_schema(
        operation_id="customers_list",
        responses={200: CustomerListOut, **ERRORS},
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("starting_after", str),
            OpenApiParameter("ending_before", str),
            OpenApiParameter("email", str),
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query_params_check(params, CURSOR_PARAMS | {"email"})
        page = customer_list(
            merchant=self.merchant,
            cursor=cursor_from_query(params),
            email=params.get("email"),
            livemode=self.livemode,
        )
        return self.list_response(page, customer_dict)


class CustomerDetailView(MerchantAPIView):
    required_scopes = {"GET": "customer:read"}

    @extend_schema(operation_id="customers_retrieve", responses={200: CustomerOut, **ERRORS})
    def get(self, request: Request, customer_id: str) -> Response:
        return Response(
            customer_dict(
                customer_get(
                    merchant=self.merchant, customer_id=customer_id, livemode=self.livemode
                )
            )
        )


class CustomerPaymentMethodsView(MerchantAPIView):
    required_scopes = {"GET": "customer:read", "POST": "customer:write"}

    @extend_schema(
        operation_id="customers_payment_methods_create",
        request=PaymentMethodCreateSerializer,
        responses={201: PaymentMethodOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        description="Save a card on the customer. The card number is vaulted; the CVC, if sent, "
        "is checked for shape and discarded.",
    )
    def post(self, request: Request, customer_id: str) -> Response:
        data = self.validated(PaymentMethodCreateSerializer, request.data)
        customer = customer_get(
            merchant=self.merchant, customer_id=customer_id, livemode=self.livemode
        )
        card = card_input_validate(**({"cvc": ""} | data["card"]))
        method = customer_payment_method_add(customer=customer, card=card)
        return Response(payment_method_dict(method), status=201)

    @extend_schema(
        operation_id="customers_payment_methods_list",
        responses={200: PaymentMethodListOut, **ERRORS},
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("starting_after", str),
            OpenApiParameter("ending_before", str),
        ],
    )
    def get(self, request: Request, customer_id: str) -> Response:
        query_params_check(request.query_params, CURSOR_PARAMS)
        customer = customer_get(
            merchant=self.merchant, customer_id=customer_id, livemode=self.livemode
        )
        page = customer_payment_method_list(
            customer=customer, cursor=cursor_from_query(request.query_params)
        )
        return self.list_response(page, payment_method_dict)
