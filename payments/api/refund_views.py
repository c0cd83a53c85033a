"""Merchant API for refunds: thin callers of payments.services.refunds and the selectors."""

import logging

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import (
    CURSOR_PARAMS,
    MerchantAPIView,
    cursor_from_query,
    idempotency_key_header,
    query_params_check,
)
from payments.api.serializers import ErrorOut, RefundCreateSerializer, RefundListOut, RefundOut
from payments.api.views import ERRORS, IDEMPOTENCY_HEADER
from payments.errors import GATEWAY_ERROR_PREFIX, CardError, ErrorCode, GatewayUnavailable
from payments.models import Refund, RefundStatus
from payments.representations import refund_dict
from payments.selectors import (
    payment_get,
    payment_refund_list,
    refund_by_idempotency_key,
    refund_get,
)
from payments.services.refunds import refund_create

logger = logging.getLogger("payments.api.RefundController")


def refund_response(refund: Refund) -> Response:
    """201 with the refund (COMPLETED or PENDING), 202 while the gateway's answer is unknown
    (PROCESSING: recovery settles it), 402 when refused, 503 when the gateway was unreachable;
    the refund is inside the error."""
    body = refund_dict(refund)
    if refund.status != RefundStatus.FAILED:
        return Response(body, status=202 if refund.status == RefundStatus.PROCESSING else 201)
    if refund.error_code.startswith(GATEWAY_ERROR_PREFIX):
        error = GatewayUnavailable(refund.error_message, code=ErrorCode.GATEWAY_UNAVAILABLE)
        return Response({"error": {**error.as_dict(), "refund": body}}, status=error.http_status)
    error = CardError(
        refund.error_message,
        code=ErrorCode.REFUND_FAILED,
        decline_code=refund.error_code,
        refund=body,
    )
    return Response({"error": error.as_dict()}, status=error.http_status)


class PaymentRefundsView(MerchantAPIView):
    required_scopes = {"GET": "payment:read", "POST": "payment:refund"}

    @extend_schema(
        operation_id="refunds_create",
        request=RefundCreateSerializer,
        responses={201: RefundOut, 202: RefundOut, 402: ErrorOut, 503: ErrorOut, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        description="Refund all (no `amount`) or part of a COMPLETED payment. Refunds of a "
        "payment never add up to more than was captured, however many run at once: one that "
        "would answers 400 `amount_too_large` (or `charge_already_refunded`). A refund the "
        "gateway refuses answers 402 `refund_failed` with the FAILED refund in `error.refund`; "
        "202 means the gateway's answer is not known yet.",
    )
    def post(self, request: Request, payment_id: str) -> Response:
        data = self.validated(RefundCreateSerializer, request.data)
        key = idempotency_key_header(request) or ""
        if self.idempotency_taken_over:
            existing = refund_by_idempotency_key(
                merchant=self.merchant, key=key, livemode=self.livemode
            )
            if existing is not None:
                return refund_response(existing)
        refund = refund_create(
            payment_id=payment_id,
            merchant=self.merchant,
            livemode=self.livemode,
            amount=data.get("amount"),
            reason=data["reason"],
            note=data.get("note", ""),
            metadata=data.get("metadata"),
            idempotency_key=key,
        )
        return refund_response(refund)

    @extend_schema(
        operation_id="refunds_list",
        responses={200: RefundListOut, **ERRORS},
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("starting_after", str),
            OpenApiParameter("ending_before", str),
        ],
    )
    def get(self, request: Request, payment_id: str) -> Response:
        query_params_check(request.query_params, CURSOR_PARAMS)
        payment = payment_get(merchant=self.merchant, payment_id=payment_id, livemode=self.livemode)
        page = payment_refund_list(payment=payment, cursor=cursor_from_query(request.query_params))
        return self.list_response(page, refund_dict)


class RefundDetailView(MerchantAPIView):
    required_scopes = {"GET": "payment:read"}

    @extend_schema(operation_id="refunds_retrieve", responses={200: RefundOut, **ERRORS})
    def get(self, request: Request, refund_id: str) -> Response:
        return Response(
            refund_dict(
                refund_get(merchant=self.merchant, refund_id=refund_id, livemode=self.livemode)
            )
        )
