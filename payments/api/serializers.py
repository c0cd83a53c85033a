"""Input serializers (types and shape only: business rules live in the services) and the
documented output shapes. Outputs are rendered by `payments.representations`."""

from rest_framework import serializers

from payments.api.fields import (
    FreeTextField,
    MetadataField,
    StrictCharField,
    StrictCoordinateField,
    StrictIntegerField,
    StrictSerializer,
)
from payments.errors import ErrorCode
from payments.models import CaptureMethod, PaymentStatus, RefundReason, RefundStatus
from payments.services.payments import CANCELLATION_REASONS


class CardInputSerializer(StrictSerializer):
    number = StrictCharField(max_length=32, trim_whitespace=False)
    exp_month = StrictIntegerField()
    exp_year = StrictIntegerField()
    cvc = StrictCharField(max_length=4, required=False, allow_blank=True, trim_whitespace=False)


class AddressSerializer(StrictSerializer):
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        help_text="ISO 3166-1 alpha-2",
        error_messages={"invalid": "Use a two-letter ISO country code."},
    )


class BillingDetailsSerializer(StrictSerializer):
    address = AddressSerializer()


class PaymentMethodDataSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["card"])
    card = CardInputSerializer()
    billing_details = BillingDetailsSerializer(
        required=False, help_text="Only the country is used (fraud screening); nothing is stored."
    )


class LocationSerializer(StrictSerializer):
    latitude = StrictCoordinateField(limit=90)
    longitude = StrictCoordinateField(limit=180)


class PaymentCreateSerializer(StrictSerializer):
    amount = StrictIntegerField(help_text="Integer minor units, e.g. 1050 for 10.50 USD.")
    currency = StrictCharField(help_text="ISO-4217 code, any case.")
    payment_method = StrictCharField(required=False, help_text="A saved payment method, pm_…")
    payment_method_data = PaymentMethodDataSerializer(required=False)
    customer = StrictCharField(required=False, help_text="cus_…")
    capture_method = serializers.ChoiceField(choices=CaptureMethod.values, required=False)
    description = FreeTextField(required=False, allow_blank=True, max_length=500)
    receipt_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    metadata = MetadataField(required=False)
    client_ip = serializers.IPAddressField(
        required=False, help_text="The paying customer's IP address, for fraud screening."
    )
    client_location = LocationSerializer(
        required=False, help_text="The customer's location, for geographic fraud rules."
    )


class PaymentCaptureSerializer(StrictSerializer):
    amount_to_capture = StrictIntegerField(required=False)


class PaymentCancelSerializer(StrictSerializer):
    cancellation_reason = serializers.ChoiceField(choices=CANCELLATION_REASONS, required=False)


class RefundCreateSerializer(StrictSerializer):
    amount = StrictIntegerField(
        required=False, help_text="Minor units; default: everything not refunded yet."
    )
    reason = serializers.ChoiceField(choices=RefundReason.values)
    note = FreeTextField(
        required=False, allow_blank=True, max_length=500, help_text="Required for 'other'."
    )
    metadata = MetadataField(required=False)


class CustomerCreateSerializer(StrictSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    name = FreeTextField(required=False, allow_blank=True, max_length=200)
    phone = StrictCharField(required=False, allow_blank=True, max_length=40)
    description = FreeTextField(required=False, allow_blank=True, max_length=500)
    metadata = MetadataField(required=False)


class PaymentMethodCreateSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["card"])
    card = CardInputSerializer()


# Documented output shapes (OpenAPI only).


class CardOut(serializers.Serializer):
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    fingerprint = serializers.CharField()


class PaymentMethodOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="payment_method")
    type = serializers.CharField()
    customer = serializers.CharField(allow_null=True)
    card = CardOut()
    created = serializers.IntegerField(help_text="Unix time")


class PaymentOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="payment")
    amount = serializers.IntegerField(help_text="Integer minor units")
    currency = serializers.CharField(help_text="ISO-4217, uppercase")
    status = serializers.ChoiceField(choices=PaymentStatus.values)
    capture_method = serializers.ChoiceField(choices=CaptureMethod.values)
    amount_captured = serializers.IntegerField()
    amount_refunded = serializers.IntegerField()
    customer = serializers.CharField(allow_null=True)
    payment_method = PaymentMethodOut(allow_null=True)
    gateway = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    next_action = serializers.JSONField(allow_null=True)
    description = serializers.CharField()
    receipt_email = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    livemode = serializers.BooleanField()
    created = serializers.IntegerField(help_text="Unix time")


class RefundOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="refund")
    payment = serializers.CharField()
    amount = serializers.IntegerField(help_text="Integer minor units")
    currency = serializers.CharField(help_text="ISO-4217, uppercase")
    status = serializers.ChoiceField(choices=RefundStatus.values)
    reason = serializers.ChoiceField(choices=RefundReason.values)
    note = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    livemode = serializers.BooleanField()
    created = serializers.IntegerField(help_text="Unix time")


class CustomerOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="customer")
    email = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())
    created = serializers.IntegerField(help_text="Unix time")


class ErrorDetailOut(serializers.Serializer):
    type = serializers.CharField()
    code = serializers.ChoiceField(choices=[code.value for code in ErrorCode])
    message = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    decline_code = serializers.CharField(required=False)
    payment = PaymentOut(required=False)
    refund = RefundOut(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


def list_of(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    return type(
        name,
        (serializers.Serializer,),
        {
            "object": serializers.CharField(default="list"),
            "data": item(many=True),
            "has_more": serializers.BooleanField(),
            "url": serializers.CharField(),
        },
    )()


PaymentListOut = list_of(PaymentOut, "PaymentList")
RefundListOut = list_of(RefundOut, "RefundList")
CustomerListOut = list_of(CustomerOut, "CustomerList")
PaymentMethodListOut = list_of(PaymentMethodOut, "PaymentMethodList")
