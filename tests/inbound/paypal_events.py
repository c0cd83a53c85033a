"""PayPal-shaped webhook events, after the sample notifications on developer.paypal.com
(Webhooks, Payments v2, Disputes v1): an envelope (`id` WH-…, `event_type`, `resource_type`,
`resource`) around the capture, authorization, refund or dispute as those APIs show it."""

import itertools
import secrets
from datetime import UTC, datetime

API = "https://api.sandbox.paypal.com"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
_ids = itertools.count(1)
_RESOURCE_TYPES = {
    "PAYMENT.CAPTURE.REFUNDED": "refund",
    "PAYMENT.REFUND": "refund",
    "PAYMENT.CAPTURE": "capture",
    "PAYMENT.AUTHORIZATION": "authorization",
    "CUSTOMER.DISPUTE": "dispute",
}


def event(event_type: str, resource: dict, *, event_id: str | None = None) -> dict:
    event_id = event_id or f"WH-{next(_ids):04d}{secrets.token_hex(8).upper()}"
    resource_type = next(
        (kind for prefix, kind in _RESOURCE_TYPES.items() if event_type.startswith(prefix)),
        "checkout-order",
    )
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": _now(),
        "resource_type": resource_type,
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": f"{event_type} (test)",
        "resource": resource,
        "links": [{"href": f"{API}/v1/notifications/webhooks-events/{event_id}", "rel": "self"}],
    }


def capture(
    capture_id: str,
    status: str = "COMPLETED",
    *,
    value: str = "10.00",
    custom_id: str | None = None,
    up: str = "checkout/orders/5O190127TN364715T",
    **fields,
) -> dict:
    """A capture; `up` is its order (a sale) or authorization ("payments/authorizations/…")."""
    return {
        "id": capture_id,
        "status": status,
        "amount": {"currency_code": "USD", "value": value},
        "final_capture": True,
        **({"custom_id": custom_id} if custom_id else {}),
        "create_time": _now(),
        "links": [
            {"href": f"{API}/v2/payments/captures/{capture_id}", "rel": "self"},
            {"href": f"{API}/v2/payments/captures/{capture_id}/refund", "rel": "refund"},
            {"href": f"{API}/v2/{up}", "rel": "up"},
        ],
        **fields,
    }


def authorization(
    authorization_id: str,
    status: str = "CREATED",
    *,
    value: str = "10.00",
    custom_id: str | None = None,
    order_id: str = "5O190127TN364715T",
) -> dict:
    return {
        "id": authorization_id,
        "status": status,
        "amount": {"currency_code": "USD", "value": value},
        **({"custom_id": custom_id} if custom_id else {}),
        "supplementary_data": {"related_ids": {"order_id": order_id}},
        "links": [
            {"href": f"{API}/v2/payments/authorizations/{authorization_id}", "rel": "self"},
            {"href": f"{API}/v2/checkout/orders/{order_id}", "rel": "up"},
        ],
    }


def refund(
    refund_id: str,
    capture_id: str,
    status: str = "COMPLETED",
    *,
    value: str = "10.00",
    invoice_id: str | None = None,
) -> dict:
    return {
        "id": refund_id,
        "status": status,
        "amount": {"currency_code": "USD", "value": value},
        **({"invoice_id": invoice_id} if invoice_id else {}),
        "links": [
            {"href": f"{API}/v2/payments/refunds/{refund_id}", "rel": "self"},
            {"href": f"{API}/v2/payments/captures/{capture_id}", "rel": "up"},
        ],
    }


def dispute(
    dispute_id: str,
    capture_id: str,
    status: str = "OPEN",
    *,
    value: str = "80.00",
    reason: str = "UNAUTHORISED",
    outcome: str | None = None,
    due: str | None = None,
) -> dict:
    return {
        "dispute_id": dispute_id,
        "create_time": _now(),
        "update_time": _now(),
        "disputed_transactions": [
            {
                "seller_transaction_id": capture_id,
                "seller": {"merchant_id": "RD465XN5VS364", "name": "Test Store"},
                "items": [],
                "seller_protection_eligible": True,
            }
        ],
        "reason": reason,
        "status": status,
        "dispute_amount": {"currency_code": "USD", "value": value},
        **({"dispute_outcome": {"outcome_code": outcome}} if outcome else {}),
        **({"seller_response_due_date": due} if due else {}),
        "dispute_life_cycle_stage": "CHARGEBACK",
        "dispute_channel": "EXTERNAL",
        "links": [{"href": f"{API}/v1/customer/disputes/{dispute_id}", "rel": "self"}],
    }


def post(client, body: bytes, headers: dict[str, str]):
    meta = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return client.post("/webhooks/paypal", body, content_type="application/json", **meta)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
