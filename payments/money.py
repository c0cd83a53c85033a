"""Money is an integer count of minor units plus an ISO-4217 currency. Never floats.

Exponents from ISO 4217 (active codes). Display formatting happens at the edge only.
"""

from decimal import Decimal

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMAL = "CLF UYW"
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMAL.split(), 2),
    **dict.fromkeys(_ZERO_DECIMAL.split(), 0),
    **dict.fromkeys(_THREE_DECIMAL.split(), 3),
    **dict.fromkeys(_FOUR_DECIMAL.split(), 4),
}

# Largest amount one payment may carry, in minor units: far below BIGINT, so sums of
# refunds and daily totals cannot overflow either.
MAX_AMOUNT = 99_999_999_999


def currency_exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def is_known_currency(code: str) -> bool:
    return code.upper() in CURRENCY_EXPONENTS


def format_amount(amount: int, currency: str) -> str:
    """`1050, "USD"` → `"10.50"`; `1050, "JPY"` → `"1050"`."""
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def parse_amount(text: str, currency: str) -> int:
    """Minor units from an amount typed by a person in major units ("25", "25.5", "25.50"
    USD → 2550). Raises ValueError for anything else, or more decimals than the currency has."""
    exponent = currency_exponent(currency)
    whole, dot, fraction = text.strip().partition(".")
    if not whole.isascii() or not whole.isdigit() or len(whole) > 15:
        raise ValueError("not an amount")
    if dot and (not fraction.isascii() or not fraction.isdigit() or len(fraction) > exponent):
        raise ValueError(f"{currency} amounts have at most {exponent} decimals")
    return int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or 0)
