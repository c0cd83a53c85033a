from django.db import transaction
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import AuditRecord, Payment, Transaction


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    amount = serializers.IntegerField(min_value=1)
    currency = serializers.CharField(min_length=3, max_length=3)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class PaymentCreate(APIView):
    """What DESIGN.md calls a plain DRF view: validate, three inserts in one transaction,
    answer the new row."""

    authentication_classes = ()
    permission_classes = ()

    def post(self, request: Request) -> Response:
        serializer = PaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            payment = Payment.objects.create(amount=data["amount"], currency=data["currency"])
            Transaction.objects.create(payment=payment, kind="CHARGE", amount=payment.amount)
            AuditRecord.objects.create(
                action="payment.create",
                resource_id=payment.id,
                new_values={"amount": payment.amount, "currency": payment.currency},
            )
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)
