"""Raw card input: validated at the edge, then vaulted. Never logged, never queued."""

import datetime as dt
from dataclasses import dataclass, field

from config.logging import luhn_valid
from payments.errors import ErrorCode, InvalidRequest

CARD_PARAM = "payment_method_data[card]"


@dataclass(frozen=True)
class CardInput:
    """Card data as the merchant sent it. `number` and `cvc` are hidden from repr() so a
    traceback or a debug print cannot leak them."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(default="", repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def bin(self) -> str:
        return self.number[:6]


_BRAND_PREFIXES: list[tuple[str, tuple[tuple[int, int], ...]]] = [
    ("amex", ((34, 34), (37, 37))),
    ("diners", ((300, 305), (36, 36), (38, 39))),
    ("discover", ((6011, 6011), (644, 649), (65, 65))),
    ("jcb", ((3528, 3589),)),
    ("unionpay", ((62, 62),)),
    ("mastercard", ((51, 55), (2221, 2720))),
    ("visa", ((4, 4),)),
]


def card_brand(number: str) -> str:
    for brand, ranges in _BRAND_PREFIXES:
        for low, high in ranges:
            width = len(str(low))
            if low <= int(number[:width]) <= high:
                return brand
    return "unknown"


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def card_input_validate(
    *,
    number: object,
    exp_month: object,
    exp_year: object,
    cvc: object,
    today: dt.date | None = None,
) -> CardInput:
    """Check a card's shape (not whether it is good: that is the gateway's call)."""
    today = today or dt.date.today()
    if not isinstance(number, str):
        raise InvalidRequest(
            "The card number must be a string of digits.",
            code=ErrorCode.INVALID_NUMBER,
            param=f"{CARD_PARAM}[number]",
        )
    digits = number.replace(" ", "").replace("-", "")
    # isdigit() alone also admits '²' and fullwidth digits, which no card number contains.
    if not (_ascii_digits(digits) and 12 <= len(digits) <= 19 and luhn_valid(digits)):
        raise InvalidRequest(
            "The card number is not a valid credit card number.",
            code=ErrorCode.INVALID_NUMBER,
            param=f"{CARD_PARAM}[number]",
        )
    if not isinstance(exp_month, int) or isinstance(exp_month, bool) or not 1 <= exp_month <= 12:
        raise InvalidRequest(
            "The card's expiration month must be an integer from 1 to 12.",
            code=ErrorCode.INVALID_EXPIRY_MONTH,
            param=f"{CARD_PARAM}[exp_month]",
        )
    if not isinstance(exp_year, int) or isinstance(exp_year, bool) or not 2000 <= exp_year <= 2100:
        raise InvalidRequest(
            "The card's expiration year must be a four-digit year.",
            code=ErrorCode.INVALID_EXPIRY_YEAR,
            param=f"{CARD_PARAM}[exp_year]",
        )
    if (exp_year, exp_month) < (today.year, today.month):
        raise InvalidRequest(
            "The card's expiration date is in the past.",
            code=ErrorCode.INVALID_EXPIRY_YEAR,
            param=f"{CARD_PARAM}[exp_year]",
        )
    if cvc is None:
        cvc = ""
    if not isinstance(cvc, str) or (cvc and not (_ascii_digits(cvc) and 3 <= len(cvc) <= 4)):
        raise InvalidRequest(
            "The card's security code must be 3 or 4 digits.",
            code=ErrorCode.INVALID_CVC,
            param=f"{CARD_PARAM}[cvc]",
        )
    return CardInput(number=digits, exp_month=exp_month, exp_year=exp_year, cvc=cvc)
