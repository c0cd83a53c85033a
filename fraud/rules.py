"""Rule parameters per kind, and the runbook's condition language.

A rules file says `condition: transaction_count > 100 within 1h from same_card` and
`action: flag_for_review`; this module turns that into (kind, parameters, action) and
validates parameters, so the database only ever holds rules the engine understands.
"""

import re
from dataclasses import dataclass
from typing import Any

from fraud.models import RuleAction, RuleKind

VELOCITY_KEYS = ("card", "customer", "email", "ip")
CARD_TESTING_KEYS = ("ip", "customer")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RuleError(ValueError):
    """A rule that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class RuleSpec:
    name: str
    kind: str
    parameters: dict[str, Any]
    action: str
    condition: str = ""
    priority: int = 100
    enabled: bool = True


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([smhd])", text.strip())
    if not match:
        raise RuleError(f"'{text}' is not a duration like 30s, 5m, 1h or 2d")
    return int(match.group(1)) * _UNITS[match.group(2)]


_CONDITIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        RuleKind.VELOCITY,
        re.compile(
            r"transaction_count\s*>\s*(?P<max_count>\d+)\s+within\s+(?P<window>\w+)\s+from\s+same_(?P<per>\w+)"
        ),
    ),
    (
        RuleKind.GEO_ANOMALY,
        re.compile(
            r"transaction_location\s+distance\s*>\s*(?P<km>\d+(?:\.\d+)?)\s*km\s+from\s+last_transaction"
            r"\s+within\s+(?P<window>\w+)"
        ),
    ),
    (
        RuleKind.BRUTE_FORCE,
        re.compile(
            r"failed_auth_attempts\s*>\s*(?P<max_count>\d+)\s+within\s+(?P<window>\w+)\s+from\s+same_ip"
        ),
    ),
    (
        RuleKind.CARD_TESTING,
        re.compile(
            r"declined_attempts\s*>\s*(?P<max_declines>\d+)\s+within\s+(?P<window>\w+)\s+from\s+same_(?P<per>\w+)"
        ),
    ),
    (
        RuleKind.CARD_TESTING,
        re.compile(
            r"small_attempts\s*>\s*(?P<max_small>\d+)\s+within\s+(?P<window>\w+)\s+from\s+same_(?P<per>\w+)"
            r"\s+\(amount\s*<=\s*(?P<small_amount>\d+)\)"
        ),
    ),
    (
        RuleKind.FIRST_PAYMENT_AMOUNT,
        re.compile(
            r"first_payment_of_card\s+amount\s*>\s*(?P<amount>\d+)\s+(?P<currency>[A-Za-z]{3})"
        ),
    ),
    (
        RuleKind.AMOUNT_THRESHOLD,
        re.compile(r"amount\s*>\s*(?P<amount>\d+)\s+(?P<currency>[A-Za-z]{3})"),
    ),
    (
        RuleKind.BLOCKLIST,
        re.compile(r"on_blocklist(?:\s*\((?P<kinds>[\w\s,]+)\))?"),
    ),
]


def parse_action(text: str) -> tuple[str, dict[str, Any]]:
    """`block_ip_for_1h` → (block_ip, {"block_seconds": 3600}); other actions as they are."""
    match = re.fullmatch(r"block_ip_for_(\w+)", text.strip())
    if match:
        return RuleAction.BLOCK_IP, {"block_seconds": _seconds(match.group(1))}
    if text.strip() not in RuleAction.values:
        raise RuleError(
            f"unknown action '{text}'; use one of {', '.join(RuleAction.values)} "
            "or block_ip_for_<duration>"
        )
    return text.strip(), {}


def parse_condition(condition: str) -> tuple[str, dict[str, Any]]:
    """The runbook's condition text → (kind, parameters). Amounts are minor units."""
    text = condition.strip()
    for kind, pattern in _CONDITIONS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        found = match.groupdict()
        if kind in (RuleKind.VELOCITY, RuleKind.BRUTE_FORCE):
            parameters: dict[str, Any] = {
                "max_count": int(found["max_count"]),
                "window_seconds": _seconds(found["window"]),
            }
            if kind == RuleKind.VELOCITY:
                parameters["per"] = found["per"]
            return kind, parameters
        if kind == RuleKind.CARD_TESTING:
            parameters = {"per": found["per"], "window_seconds": _seconds(found["window"])}
            if found.get("max_declines"):
                parameters["max_declines"] = int(found["max_declines"])
            else:
                parameters["max_small_attempts"] = int(found["max_small"])
                parameters["small_amount"] = int(found["small_amount"])
            return kind, parameters
        if kind == RuleKind.GEO_ANOMALY:
            return kind, {
                "max_distance_km": float(found["km"]),
                "window_seconds": _seconds(found["window"]),
            }
        if kind in (RuleKind.AMOUNT_THRESHOLD, RuleKind.FIRST_PAYMENT_AMOUNT):
            return kind, {"thresholds": {found["currency"].upper(): int(found["amount"])}}
        kinds = [part.strip() for part in (found["kinds"] or "").split(",") if part.strip()]
        return kind, {"kinds": kinds} if kinds else {}
    raise RuleError(
        f"cannot read condition '{condition}'; conditions look like "
        "'transaction_count > 100 within 1h from same_card', "
        "'transaction_location distance > 1000km from last_transaction within 1h', "
        "'failed_auth_attempts > 5 within 5m from same_ip', 'amount > 500000 USD', "
        "'first_payment_of_card amount > 100000 USD', 'on_blocklist', "
        "'declined_attempts > 5 within 10m from same_ip' or "
        "'small_attempts > 10 within 10m from same_ip (amount <= 300)'"
    )


# Upper bounds keep every rule computable (timestamps, LIMITs) whatever an operator types.
_MAXIMUM = {
    "window_seconds": 90 * 86400,
    "block_seconds": 365 * 86400,
    "max_count": 1_000_000,
    "max_declines": 1_000_000,
    "max_small_attempts": 1_000_000,
    "small_amount": 10**15,
}


def _require_int(parameters: dict[str, Any], name: str, low: int = 1) -> None:
    value = parameters.get(name)
    high = _MAXIMUM.get(name, 10**15)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(f"'{name}' must be an integer from {low} to {high}")


def _require_thresholds(parameters: dict[str, Any]) -> None:
    thresholds = parameters.get("thresholds")
    if not isinstance(thresholds, dict) or not thresholds:
        raise RuleError("'thresholds' must map currencies to amounts in minor units")
    for currency, amount in thresholds.items():
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
            raise RuleError(f"'{currency}' is not an uppercase ISO-4217 code")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 10**15:
            raise RuleError(
                f"the threshold for {currency} must be a non-negative integer (minor units)"
            )


def validate_parameters(kind: str, parameters: dict[str, Any], action: str) -> None:
    """Raise RuleError unless `parameters` and `action` fit `kind`."""
    if kind not in RuleKind.values:
        raise RuleError(f"unknown kind '{kind}'")
    if not isinstance(parameters, dict):
        raise RuleError("parameters must be a mapping")
    if kind == RuleKind.BRUTE_FORCE:
        if action != RuleAction.BLOCK_IP:
            raise RuleError("a brute_force rule's action is block_ip_for_<duration>")
        for name in ("max_count", "window_seconds", "block_seconds"):
            _require_int(parameters, name)
        return
    if action == RuleAction.BLOCK_IP:
        raise RuleError("block_ip is only for failed_auth_attempts (brute_force) rules")
    if kind == RuleKind.VELOCITY:
        _require_int(parameters, "max_count")
        _require_int(parameters, "window_seconds")
        if parameters.get("per") not in VELOCITY_KEYS:
            raise RuleError(
                f"'per' must be one of {', '.join(VELOCITY_KEYS)} (same_card, same_ip, …)"
            )
    elif kind == RuleKind.GEO_ANOMALY:
        distance = parameters.get("max_distance_km")
        if not isinstance(distance, int | float) or isinstance(distance, bool) or distance <= 0:
            raise RuleError("'max_distance_km' must be a positive number")
        _require_int(parameters, "window_seconds")
    elif kind in (RuleKind.AMOUNT_THRESHOLD, RuleKind.FIRST_PAYMENT_AMOUNT):
        _require_thresholds(parameters)
    elif kind == RuleKind.CARD_TESTING:
        _require_int(parameters, "window_seconds")
        if parameters.get("per") not in CARD_TESTING_KEYS:
            raise RuleError(f"'per' must be one of {', '.join(CARD_TESTING_KEYS)} (same_ip, …)")
        if "max_declines" in parameters:
            _require_int(parameters, "max_declines")
        elif "max_small_attempts" in parameters:
            _require_int(parameters, "max_small_attempts")
            _require_int(parameters, "small_amount")
        else:
            raise RuleError("a card_testing rule needs max_declines or max_small_attempts")
    elif kind == RuleKind.BLOCKLIST:
        from fraud.models import BlocklistKind

        unknown = set(parameters.get("kinds", [])) - set(BlocklistKind.values)
        if unknown:
            raise RuleError(f"unknown blocklist kinds {sorted(unknown)}")
