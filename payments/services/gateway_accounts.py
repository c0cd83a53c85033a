"""Gateway accounts: a merchant's credentials and routing rules per gateway. Credentials are
sealed in the vault when written and never shown again (the admin shows which fields are
set, not their values)."""

import json
from typing import Any

from django.db import transaction

from audit.services import audit_record
from config.keys import secret_seal
from payments.errors import ErrorCode, InvalidRequest
from payments.gateways import CREDENTIAL_FIELDS
from payments.gateways.interface import GatewayError
from payments.models import GatewayAccount, Merchant
from payments.services.routing import account_credentials, gateway_for, routing_cache_clear

ROUTING_FIELDS = (
    "enabled",
    "priority",
    "currencies",
    "min_amount",
    "max_amount",
    "card_brands",
    "card_countries",
    "api_base",
)


def gateway_account_snapshot(account: GatewayAccount) -> dict[str, Any]:
    """What audit rows and operators see: everything but the credentials' values."""
    return {
        "gateway": account.gateway,
        "livemode": account.livemode,
        **{name: getattr(account, name) for name in ROUTING_FIELDS},
        "credentials_set": sorted(account_credentials(account)) if account.pk else [],
    }


def gateway_account_save(
    *,
    merchant: Merchant,
    gateway: str,
    livemode: bool = False,
    credentials: dict[str, str] | None = None,
    **routing: Any,
) -> GatewayAccount:
    """Create or update the merchant's account at `gateway` (credentials are replaced only
    when given)."""
    if gateway not in CREDENTIAL_FIELDS:
        raise InvalidRequest(
            f"gateway must be one of {', '.join(CREDENTIAL_FIELDS)}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="gateway",
        )
    unknown = set(routing) - set(ROUTING_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"Unknown setting: {sorted(unknown)[0]}",
            code=ErrorCode.PARAMETER_UNKNOWN,
            param=sorted(unknown)[0],
        )
    with transaction.atomic():
        account = (
            GatewayAccount.objects.select_for_update()
            .filter(merchant=merchant, gateway=gateway, livemode=livemode)
            .first()
        ) or GatewayAccount(merchant=merchant, gateway=gateway, livemode=livemode)
        old = gateway_account_snapshot(account) if account.pk else None
        for name, value in routing.items():
            setattr(account, name, value)
        if credentials is not None:
            gateway_account_credentials_set(account, credentials)
        account.save()
        audit_record(
            action="gateway_account.saved",
            resource_type="gateway_account",
            resource_id=account.id,
            old=old,
            new=gateway_account_snapshot(account),
        )
    routing_cache_clear()
    return account


def gateway_account_credentials_set(account: GatewayAccount, credentials: dict[str, str]) -> None:
    """Seal `credentials` onto the (unsaved) account after checking they have exactly the
    provider's fields."""
    wanted = set(CREDENTIAL_FIELDS[account.gateway])
    if set(credentials) != wanted or not all(
        isinstance(value, str) and value for value in credentials.values()
    ):
        raise InvalidRequest(
            f"{account.gateway} credentials need exactly: {', '.join(sorted(wanted)) or 'none'}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="credentials",
        )
    if not wanted:
        account.credentials_key_version, account.credentials_sealed = None, None
        return
    account.credentials_key_version, account.credentials_sealed = secret_seal(
        json.dumps(credentials, sort_keys=True).encode(), associated=account.id
    )


def gateway_account_verify(account: GatewayAccount) -> tuple[bool, str]:
    """Check the account's credentials with a harmless read call at its gateway."""
    if CREDENTIAL_FIELDS[account.gateway] and account.credentials_sealed is None:
        return False, "no credentials configured"
    try:
        return True, gateway_for(account).verify_credentials()
    except GatewayError as exc:
        return False, f"{exc.code}: {exc}"
