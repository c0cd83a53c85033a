import factory
from factory.django import DjangoModelFactory

from payments.models import Customer, Merchant, Payment, PaymentMethod, PaymentStatus


class MerchantFactory(DjangoModelFactory):
    class Meta:
        model = Merchant

    slug = factory.Sequence(lambda n: f"merchant-{n}")
    name = factory.LazyAttribute(lambda merchant: merchant.slug.title())


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    merchant = factory.SubFactory(MerchantFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")


class PaymentMethodFactory(DjangoModelFactory):
    """A card payment method without a vaulted card (enough for listing and display)."""

    class Meta:
        model = PaymentMethod

    merchant = factory.SubFactory(MerchantFactory)
    card_brand = "visa"
    card_bin = "424242"
    card_last4 = "4242"
    card_exp_month = 12
    card_exp_year = 2030
    card_fingerprint = factory.Sequence(lambda n: f"{n:064x}")


class PaymentFactory(DjangoModelFactory):
    """A payment row in any status. `created_at=` is honoured (auto_now_add would ignore it)."""

    class Meta:
        model = Payment

    merchant = factory.SubFactory(MerchantFactory)
    amount = 1000
    currency = "USD"
    status = PaymentStatus.COMPLETED
    gateway = "sandbox"
    amount_captured = factory.LazyAttribute(
        lambda payment: payment.amount if payment.status == PaymentStatus.COMPLETED else 0
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        created_at = kwargs.pop("created_at", None)
        payment = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=payment.pk).update(created_at=created_at)
            payment.created_at = created_at
        return payment
