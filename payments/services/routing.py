"""Which gateway a payment goes to, and the client that talks to it.

A merchant's enabled gateway accounts whose rules match the payment (currency, amount range,
card brand, issuer country) are tried by `priority`, lowest first; among equal priorities the
one with the better recent success rate tends to go first, but never always: each weighs at
least SUCCESS_RATE_FLOOR, so a recovering gateway still gets probes. Gateways whose circuit
breaker is open are skipped. A merchant without accounts uses its default gateway (the
sandbox).

Accounts are cached per process for ACCOUNTS_CACHE_SECONDS: a change to routing or
credentials reaches every process within that time.
"""

import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from config.keys import secret_open
from fraud.history import card_country
from payments.gateways import gateway_build
from payments.gateways.interface import Gateway
from payments.models import GatewayAccount, Merchant
from payments.services.breakers import breaker_allows, recent_success_rate

ACCOUNTS_CACHE_SECONDS = 5
SUCCESS_RATE_FLOOR = 0.1


class GatewayOwner(Protocol):
    """A payment or refund: what says which merchant's account at which gateway to use."""

    merchant_id: str
    gateway: str
    livemode: bool


@dataclass(frozen=True)
class _Cached:
    expires: float
    accounts: tuple[GatewayAccount, ...]


_lock = threading.Lock()
_accounts: dict[tuple[str, bool], _Cached] = {}
_clients: dict[tuple[str, Any], Gateway] = {}


def merchant_accounts(merchant_id: str, livemode: bool) -> tuple[GatewayAccount, ...]:
    key = (merchant_id, livemode)
    cached = _accounts.get(key)
    if cached is None or cached.expires < time.monotonic():
        accounts = tuple(
            GatewayAccount.objects.filter(merchant_id=merchant_id, livemode=livemode).order_by(
                "priority", "gateway"
            )
        )
        cached = _Cached(time.monotonic() + ACCOUNTS_CACHE_SECONDS, accounts)
        with _lock:
            _accounts[key] = cached
    return cached.accounts


def routing_cache_clear() -> None:
    with _lock:
        _accounts.clear()
        _clients.clear()


def gateway_for(owner: GatewayOwner) -> Gateway:
    """The client for the gateway `owner` is on, with its merchant's credentials."""
    account = next(
        (
            account
            for account in merchant_accounts(owner.merchant_id, owner.livemode)
            if account.gateway == owner.gateway
        ),
        None,
    )
    if account is None:
        return gateway_build(owner.gateway, {})
    key = (account.id, account.updated_at)
    client = _clients.get(key)
    if client is None:
        client = gateway_build(account.gateway, account_credentials(account), account.api_base)
        with _lock:
            _clients[key] = client
    return client


def account_credentials(account: GatewayAccount) -> dict[str, Any]:
    if account.credentials_sealed is None:
        return {}
    plaintext = secret_open(
        bytes(account.credentials_sealed),
        version=account.credentials_key_version,
        associated=account.id,
    )
    return json.loads(plaintext)


def route(
    *,
    merchant: Merchant,
    livemode: bool,
    amount: int,
    currency: str,
    card_brand: str = "",
    card_bin: str = "",
) -> list[str]:
    """The gateways to try for this payment, first choice first (never empty)."""
    accounts = [account for account in merchant_accounts(merchant.id, livemode) if account.enabled]
    if not accounts:
        return [merchant.default_gateway]
    country = card_country(card_bin) if card_bin and any(a.card_countries for a in accounts) else ""
    matching = [
        account
        for account in accounts
        if _matches(account, amount=amount, currency=currency, brand=card_brand, country=country)
    ]
    if not matching:
        return [merchant.default_gateway]
    ordered = [
        account.gateway for group in _by_priority(matching) for account in _by_success(group)
    ]
    open_ones = [gateway for gateway in ordered if breaker_allows(gateway)]
    # Every breaker open: keep the first choice, whose call fails fast as unavailable.
    return open_ones or ordered[:1]


def _matches(
    account: GatewayAccount, *, amount: int, currency: str, brand: str, country: str
) -> bool:
    if account.currencies and currency not in account.currencies:
        return False
    if account.min_amount is not None and amount < account.min_amount:
        return False
    if account.max_amount is not None and amount > account.max_amount:
        return False
    if account.card_brands and brand not in account.card_brands:
        return False
    return not account.card_countries or country in account.card_countries


def _by_priority(accounts: Sequence[GatewayAccount]) -> list[list[GatewayAccount]]:
    groups: dict[int, list[GatewayAccount]] = {}
    for account in accounts:
        groups.setdefault(account.priority, []).append(account)
    return [groups[priority] for priority in sorted(groups)]


def _by_success(group: list[GatewayAccount]) -> list[GatewayAccount]:
    """Weighted shuffle: the chance to go first follows the recent success rate (unknown
    counts as 1), never below the floor."""
    remaining = list(group)
    ordered = []
    while remaining:
        weights = [_weight(account.gateway) for account in remaining]
        chosen = random.choices(range(len(remaining)), weights=weights)[0]
        ordered.append(remaining.pop(chosen))
    return ordered


def _weight(gateway: str) -> float:
    rate = recent_success_rate(gateway)
    return max(SUCCESS_RATE_FLOOR, 1.0 if rate is None else rate)
