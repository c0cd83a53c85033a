"""`build(Model, **values)` makes the very instance `Model(**values)` makes."""

import pytest
from django.db.models.signals import post_init
from django.forms.models import model_to_dict

from audit.models import AuditLog
from config.db.build import build
from payments.models import Merchant, Payment, PaymentMethod
from webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _fields(instance, *, skip=("id", "created_at", "updated_at")):
    values = model_to_dict(instance, fields=[f.name for f in instance._meta.concrete_fields])
    return {name: value for name, value in values.items() if name not in skip}


def test_defaults_and_given_values_match_the_keyword_constructor():
    merchant = Merchant.objects.create(slug="build", name="Build")
    method = build(PaymentMethod, merchant=merchant, card_brand="visa", card_last4="4242")
    values = dict(merchant=merchant, payment_method=method, amount=1999, currency="USD")

    built, made = build(Payment, **values), Payment(**values)

    assert _fields(built) == _fields(made)
    assert built.id.startswith("pay_") and built.id != made.id  # a fresh id each
    assert built._state.adding and built._state.db is None


def test_mutable_defaults_are_fresh_for_each_instance():
    merchant = Merchant.objects.create(slug="fresh", name="Fresh")
    first = build(OutboxEvent, merchant_id=merchant.id, type="payment.completed", data={})
    second = build(OutboxEvent, merchant_id=merchant.id, type="payment.completed", data={})
    first_payment = build(Payment, merchant=merchant, amount=1, currency="USD")
    second_payment = build(Payment, merchant=merchant, amount=1, currency="USD")

    first_payment.metadata["k"] = "v"

    assert second_payment.metadata == {}
    assert first.id != second.id


def test_related_objects_are_cached_without_a_query(django_assert_num_queries):
    merchant = Merchant.objects.create(slug="cached", name="Cached")
    method = build(PaymentMethod, merchant=merchant)

    payment = build(Payment, merchant=merchant, payment_method=method, customer=None)

    with django_assert_num_queries(0):
        assert payment.merchant is merchant
        assert payment.payment_method is method
        assert payment.customer is None
    assert payment.merchant_id == merchant.id and payment.payment_method_id == method.id


def test_a_foreign_key_by_its_attname():
    merchant = Merchant.objects.create(slug="attname", name="Attname")

    payment = build(Payment, merchant_id=merchant.id, amount=1, currency="USD")

    assert payment.merchant_id == merchant.id
    assert payment.merchant == merchant  # loaded when asked for


def test_unknown_values_are_refused_as_the_constructor_does():
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['colour'\\]"):
        build(AuditLog, action="x", colour="blue")


def test_init_signals_are_sent():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=AuditLog)
    try:
        row = build(AuditLog, action="x", resource_type="payment", resource_id="pay_1")
    finally:
        post_init.disconnect(receiver, sender=AuditLog)

    assert seen == [row]
