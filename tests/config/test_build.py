"""`build(Model, **values)` makes the very instance `Model(**values)` makes."""

import pytest
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.forms.models import model_to_dict
from django.test.utils import isolate_apps

from audit.models import AuditLog
from config.db.build import build, loaded
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


def test_values_land_in_the_instance_as_the_positional_constructor_puts_them():
    merchant = Merchant.objects.create(slug="positional", name="Positional")
    built = build(Payment, merchant=merchant, amount=1999, currency="USD")
    values = [built.__dict__[field.attname] for field in Payment._meta.concrete_fields]

    made = Payment(*values)

    def state(instance):
        return {name: value for name, value in vars(instance).items() if name != "_state"}

    assert state(built) == state(made)
    assert type(built._state) is type(made._state)
    assert built._state.adding and built._state.db is None


def test_a_receiver_of_pre_init_gets_the_positional_values():
    seen = []

    def receiver(sender, args, kwargs, **extra):
        seen.append((sender, len(args), kwargs))

    pre_init.connect(receiver, sender=AuditLog)
    try:
        build(AuditLog, action="x", resource_type="payment", resource_id="pay_1")
    finally:
        pre_init.disconnect(receiver, sender=AuditLog)

    assert seen == [(AuditLog, len(AuditLog._meta.concrete_fields), {})]


class _Shouting(DeferredAttribute):
    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value.upper()


class _ShoutField(models.CharField):
    descriptor_class = _Shouting


@isolate_apps("payments")
def test_a_field_whose_attribute_does_its_own_assignment_gets_it():
    class Greeting(models.Model):
        text = _ShoutField(max_length=20)

        class Meta:
            app_label = "payments"

        def __str__(self) -> str:
            return self.text

    assert build(Greeting, text="hello").text == Greeting(text="hello").text == "HELLO"


def test_loaded_is_from_db_for_a_whole_row():
    merchant = Merchant.objects.create(slug="loaded", name="Loaded")
    row = [getattr(merchant, field.attname) for field in Merchant._meta.concrete_fields]

    mine = loaded(Merchant, row)
    django_s = Merchant.from_db("default", [f.attname for f in Merchant._meta.concrete_fields], row)

    assert vars(mine).keys() == vars(django_s).keys()
    assert all(
        getattr(mine, name) == getattr(django_s, name) for name in vars(mine) if name != "_state"
    )
    assert (mine._state.adding, mine._state.db) == (False, "default")


@isolate_apps("payments")
def test_a_model_with_its_own_init_gets_it_called():
    class Note(models.Model):
        text = models.CharField(max_length=20)

        class Meta:
            app_label = "payments"

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = True

        def __str__(self) -> str:
            return self.text

    assert build(Note, text="hello").seen
