"""Public JSON shapes of payments objects: used by the API and by outbound events, so a
merchant sees the same object in a response and in a webhook. Never more of a card than
brand, last4, expiry and fingerprint."""

from typing import Any

from payments.models import ApiKey, Customer, Payment, PaymentMethod, Refund


def _timestamp(value: Any) -> int:
    return int(value.timestamp())


def payment_method_dict(method: PaymentMethod) -> dict[str, Any]:
    return {
        "id": method.id,
        "object": "payment_method",
        "type": method.type,
        "customer": method.customer_id,
        "card": {
            "brand": method.card_brand,
            "last4": method.card_last4,
            "exp_month": method.card_exp_month,
            "exp_year": method.card_exp_year,
            "fingerprint": method.card_fingerprint,
        },
        "created": _timestamp(method.created_at),
    }


def payment_dict(payment: Payment) -> dict[str, Any]:
    method = payment.payment_method
    return {
        "id": payment.id,
        "object": "payment",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "capture_method": payment.capture_method,
        "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded,
        "customer": payment.customer_id,
        "payment_method": payment_method_dict(method) if method else None,
        "gateway": payment.gateway or None,
        "error_code": payment.error_code or None,
        "error_message": payment.error_message or None,
        "next_action": payment.next_action,
        "description": payment.description,
        "receipt_email": payment.receipt_email or None,
        "metadata": payment.metadata,
        "livemode": payment.livemode,
        "created": _timestamp(payment.created_at),
    }


def refund_dict(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "payment": refund.payment_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "note": refund.note or None,
        "error_code": refund.error_code or None,
        "error_message": refund.error_message or None,
        "metadata": refund.metadata,
        "livemode": refund.livemode,
        "created": _timestamp(refund.created_at),
    }


def customer_dict(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "object": "customer",
        "email": customer.email or None,
        "name": customer.name or None,
        "phone": customer.phone or None,
        "description": customer.description,
        "metadata": customer.metadata,
        "created": _timestamp(customer.created_at),
    }


def api_key_dict(api_key: ApiKey) -> dict[str, Any]:
    """What operators and audit rows see of a key: never the secret or its hash."""
    return {
        "id": api_key.id,
        "merchant": api_key.merchant_id,
        "key": api_key.masked,
        "mode": api_key.mode,
        "scopes": list(api_key.scopes),
        "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
        "revoked_at": api_key.revoked_at.isoformat() if api_key.revoked_at else None,
    }


def mask_email(email: str) -> str:
    """a•••@example.com: enough to recognize, not to contact."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if at else ("•••" if email else "")


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"•••• {''.join(digits[-2:])}" if digits else ""
