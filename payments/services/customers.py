"""Customers and their saved payment methods."""

from typing import Any

from django.db import transaction

from audit.services import audit_record
from payments.audit_actions import AuditAction
from payments.cards import CardInput
from payments.models import Customer, Merchant, PaymentMethod
from payments.services.payments import payment_method_build


@transaction.atomic
def customer_create(
    *,
    merchant: Merchant,
    email: str = "",
    name: str = "",
    phone: str = "",
    description: str = "",
    metadata: dict[str, Any] | None = None,
    livemode: bool = False,
) -> Customer:
    customer = Customer.objects.create(
        merchant=merchant,
        livemode=livemode,
        email=email,
        name=name,
        phone=phone,
        description=description,
        metadata=metadata or {},
    )
    audit_record(
        action=AuditAction.CUSTOMER_CREATED,
        resource_type="customer",
        resource_id=customer.id,
        new={"merchant": merchant.id},
    )
    return customer


@transaction.atomic
def customer_payment_method_add(*, customer: Customer, card: CardInput) -> PaymentMethod:
    """Vault a card and save it on the customer. The CVC is not kept."""
    method = payment_method_build(
        merchant=customer.merchant, card=card, customer=customer, livemode=customer.livemode
    )
    method.save(force_insert=True)
    audit_record(
        action=AuditAction.PAYMENT_METHOD_CREATED,
        resource_type="payment_method",
        resource_id=method.id,
        new={"customer": customer.id, "brand": method.card_brand, "last4": method.card_last4},
    )
    return method
