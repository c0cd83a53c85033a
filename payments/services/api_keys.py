"""Merchants and their API keys: issue, authenticate, rotate, revoke."""

import datetime as dt
import functools
import hashlib
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditResult
from audit.services import audit_record, security_event_record
from config.db.build import loaded
from fraud.ip_blocks import brute_force_check
from payments.audit_actions import AuditAction
from payments.errors import AuthenticationFailed, ErrorCode, InvalidRequest
from payments.models import ApiKey, ApiKeyMode, ApiKeyScope, Merchant
from payments.representations import api_key_dict
from payments.services.api_key_cache import api_key_cache_clear, api_key_row

SECRET_RANDOM_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits
# last_used_at is advisory: refresh it at most this often so reads do not become writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedApiKey:
    """A freshly issued key. `secret` exists only here: show it once, it is not stored."""

    api_key: ApiKey
    secret: str


def api_key_hash(secret: str) -> str:
    # Keys carry 190 bits of randomness, so a fast hash is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()


def scopes_validate(scopes: Iterable[str]) -> list[str]:
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in ApiKeyScope.values]
    if unknown or not scopes:
        raise InvalidRequest(
            f"Unknown or missing scopes {unknown}; choose from {', '.join(ApiKeyScope.values)}.",
            code=ErrorCode.PARAMETER_INVALID,
            param="scopes",
        )
    return scopes


@transaction.atomic
def merchant_get_or_create(*, slug: str, name: str = "") -> tuple[Merchant, bool]:
    merchant, created = Merchant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if created:
        audit_record(
            action=AuditAction.MERCHANT_CREATED,
            resource_type="merchant",
            resource_id=merchant.id,
            new={"slug": merchant.slug, "name": merchant.name},
        )
    return merchant, created


def _new_api_key(
    *, merchant: Merchant, scopes: list[str], mode: str, name: str, expires_at: dt.datetime | None
) -> IssuedApiKey:
    secret = f"sk_{mode}_" + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_RANDOM_LENGTH))
    api_key = ApiKey.objects.create(
        merchant=merchant,
        name=name,
        mode=mode,
        key_hash=api_key_hash(secret),
        display_prefix=secret[: len(f"sk_{mode}_") + 4],
        last4=secret[-4:],
        scopes=scopes,
        expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, secret=secret)


@transaction.atomic
def api_key_issue(
    *,
    merchant: Merchant,
    scopes: Iterable[str],
    mode: str = ApiKeyMode.TEST,
    name: str = "",
    expires_at: dt.datetime | None = None,
) -> IssuedApiKey:
    if mode not in ApiKeyMode.values:
        raise InvalidRequest(
            "mode must be 'test' or 'live'.", code=ErrorCode.PARAMETER_INVALID, param="mode"
        )
    issued = _new_api_key(
        merchant=merchant,
        scopes=scopes_validate(scopes),
        mode=mode,
        name=name,
        expires_at=expires_at,
    )
    audit_record(
        action=AuditAction.API_KEY_CREATED,
        resource_type="api_key",
        resource_id=issued.api_key.id,
        new=api_key_dict(issued.api_key),
    )
    return issued


@functools.cache
def _api_key_query() -> str:
    """Every column of the key, then every column of its merchant, each in field order."""
    columns = ", ".join(
        [f"k.{field.column}" for field in ApiKey._meta.concrete_fields]
        + [f"m.{field.column}" for field in Merchant._meta.concrete_fields]
    )
    sql = (
        f"SELECT {columns} FROM {ApiKey._meta.db_table} k "  # noqa: S608 (names from models)
        f"JOIN {Merchant._meta.db_table} m ON m.id = k.merchant_id WHERE k.key_hash = %s"
    )
    return sql


def _api_key_row(key_hash: str) -> tuple[Any, ...] | None:
    """The key and its merchant in one indexed query. Runs on every API request the cache
    cannot answer, so it skips the ORM's query compiler (select_related compilation costs
    more than the query itself)."""
    with connection.cursor() as cursor:
        cursor.execute(_api_key_query(), [key_hash])
        return cursor.fetchone()


def _api_key_by_hash(key_hash: str) -> ApiKey | None:
    """The key and its merchant, as new instances (a cached row is shared between requests,
    the instances are not)."""
    row = api_key_row(key_hash, _api_key_row)
    if row is None:
        return None
    key_fields = len(ApiKey._meta.concrete_fields)
    api_key = loaded(ApiKey, row[:key_fields])
    api_key.merchant = loaded(Merchant, row[key_fields:])
    return api_key


def api_key_authenticate(*, secret: str) -> ApiKey:
    """Return the active key for `secret` or raise AuthenticationFailed (and record a
    security event, which threat detection counts per IP: it may block the IP)."""
    api_key = None
    if secret.startswith(("sk_test_", "sk_live_")) and len(secret) < 100:
        api_key = _api_key_by_hash(api_key_hash(secret))
    now = timezone.now()
    problem = None
    if api_key is None or api_key.revoked_at is not None or not api_key.merchant.is_active:
        problem = AuthenticationFailed("Invalid API key provided.", code=ErrorCode.API_KEY_INVALID)
    elif api_key.expires_at is not None and api_key.expires_at <= now:
        problem = AuthenticationFailed("This API key has expired.", code=ErrorCode.API_KEY_EXPIRED)
    if problem:
        event = security_event_record(
            event_type="auth.api_key_failed",
            details={"reason": str(problem.code), "key_id": api_key.id if api_key else None},
        )
        brute_force_check(ip_address=event.ip_address)
        raise problem
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        api_key_cache_clear()  # the cached row's last_used_at is old now
    return api_key


def api_key_find(*, key: str) -> ApiKey:
    """Find a key by its secret (`sk_…`) or its id (`key_…`)."""
    lookup = {"id": key} if key.startswith("key_") else {"key_hash": api_key_hash(key)}
    api_key = ApiKey.objects.select_related("merchant").filter(**lookup).first()
    if api_key is None:
        raise InvalidRequest("No such API key.", code=ErrorCode.RESOURCE_MISSING, param="key")
    return api_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, reason: str = "") -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        return api_key
    old = api_key_dict(api_key)
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(
        action=AuditAction.API_KEY_REVOKED,
        resource_type="api_key",
        resource_id=api_key.id,
        old=old,
        new={**api_key_dict(api_key), "reason": reason},
    )
    return api_key


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, grace: dt.timedelta) -> IssuedApiKey:
    """Issue a replacement with the same merchant, mode and scopes; the old key keeps working
    for `grace`, then expires."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None or api_key.replaced_by_id is not None:
        raise InvalidRequest(
            f"API key {api_key.id} is revoked or already rotated.",
            code=ErrorCode.PARAMETER_INVALID,
            param="key",
        )
    old = api_key_dict(api_key)
    issued = _new_api_key(
        merchant=api_key.merchant,
        scopes=list(api_key.scopes),
        mode=api_key.mode,
        name=api_key.name,
        expires_at=None,
    )
    grace_end = timezone.now() + grace
    api_key.expires_at = min(api_key.expires_at, grace_end) if api_key.expires_at else grace_end
    api_key.replaced_by = issued.api_key
    api_key.save(update_fields=["expires_at", "replaced_by"])
    audit_record(
        action=AuditAction.API_KEY_ROTATED,
        resource_type="api_key",
        resource_id=api_key.id,
        old=old,
        new={**api_key_dict(api_key), "replaced_by": issued.api_key.id},
        result=AuditResult.SUCCESS,
    )
    return issued


def api_keys_due_for_rotation(*, older_than: dt.timedelta) -> list[ApiKey]:
    cutoff = timezone.now() - older_than
    now = timezone.now()
    return list(
        ApiKey.objects.select_related("merchant")
        .filter(created_at__lt=cutoff, revoked_at__isnull=True, replaced_by__isnull=True)
        .exclude(expires_at__lte=now)
        .order_by("created_at")
    )
