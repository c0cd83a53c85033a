"""Audit action names written by the payments services."""

from enum import StrEnum


class AuditAction(StrEnum):
    MERCHANT_CREATED = "merchant.created"
    API_KEY_CREATED = "api_key.created"
    API_KEY_ROTATED = "api_key.rotated"
    API_KEY_REVOKED = "api_key.revoked"
    CUSTOMER_CREATED = "customer.created"
    PAYMENT_METHOD_CREATED = "payment_method.created"
    PAYMENT_CREATED = "payment.created"
    PAYMENT_AUTHORIZE = "payment.authorize"
    PAYMENT_CAPTURE = "payment.capture"
    PAYMENT_CANCEL = "payment.cancel"
    PAYMENT_FAILOVER = "payment.failover"
    PAYMENT_STATUS_FORCED = "payment.status_forced"
    PAYMENT_REVIEW_APPROVED = "payment.review_approved"
    PAYMENT_REVIEW_REJECTED = "payment.review_rejected"
    REFUND_CREATED = "refund.created"
    REFUND_SETTLED = "refund.settled"
    VAULT_KEYS_ROTATED = "vault.keys_rotated"
