"""Row locks on money-bearing rows. Call inside `transaction.atomic()`; every amount or status
change happens after one of these, so concurrent writers serialize on the payment row."""

from payments.errors import ResourceMissing
from payments.models import Merchant, Payment


def payment_lock(
    *, payment_id: str, merchant: Merchant | None = None, livemode: bool | None = None
) -> Payment:
    """SELECT … FOR UPDATE the payment (scoped to `merchant` and mode when given: API callers
    give both, operators neither)."""
    queryset = Payment.objects.select_for_update(of=("self",)).select_related("payment_method")
    if merchant is not None:
        queryset = queryset.filter(merchant=merchant)
    if livemode is not None:
        queryset = queryset.filter(livemode=livemode)
    payment = queryset.filter(pk=payment_id).first()
    if payment is None:
        raise ResourceMissing("payment", payment_id)
    return payment
