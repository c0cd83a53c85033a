"""Card vault key rotation: re-wrap every card's data key under the newest key-encryption key
(KEK), so that older versions can be removed from `VAULT_KEYS`.

Only the wrapped data key changes; the PAN ciphertext is neither read nor rewritten, and no
PAN is ever decrypted. There is no checkpoint table: a card's `vault_key_version` is its own
progress marker. Each batch commits on its own, together with its audit row, so a crash or
Ctrl-C loses at most the batch in flight and the next run picks up whatever is still under an
older version (including cards that failed before, in case their key has since been restored).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from django.db import models, transaction
from django.db.models import Count, Q

from audit.models import AuditResult
from audit.services import audit_record
from config.keys import VaultKeyMissing, secret_open, secret_seal, vault_keys
from payments.audit_actions import AuditAction
from payments.models import GatewayAccount, PaymentMethod
from payments.vault import vault_key_rewrap
from webhooks.models import WebhookEndpoint

DEFAULT_BATCH_SIZE = 500

_VAULTED_CARD = Q(vault_key_version__isnull=False, vault_wrapped_key__isnull=False)


@dataclass
class RotationReport:
    """What one `vault_keys_rotate` run did. `failed` maps a payment method id to why its
    data key could not be unwrapped (never anything about the card itself)."""

    to_version: int
    rotated: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    batches: int = 0

    @property
    def processed(self) -> int:
        return self.rotated + len(self.failed)


@dataclass(frozen=True)
class VaultKeyStatus:
    """Which KEK versions are configured and what is still sealed under each."""

    active_version: int
    configured_versions: list[int]
    cards: dict[int, int]
    # Gateway credentials and webhook signing secrets are sealed directly under a KEK
    # (`secret_seal`), so they pin their version just as cards do until `secrets_reseal`.
    secrets: dict[int, int]

    @property
    def pending(self) -> dict[int, int]:
        """Cards per version that a rotation run would re-wrap."""
        return {version: n for version, n in self.cards.items() if version < self.active_version}

    @property
    def missing(self) -> list[int]:
        """Versions something is sealed under that `VAULT_KEYS` no longer holds: unreadable."""
        in_use = set(self.cards) | set(self.secrets)
        return sorted(in_use - set(self.configured_versions))

    @property
    def retirable(self) -> list[int]:
        """Configured versions nothing is sealed under any more: safe to drop from VAULT_KEYS."""
        in_use = set(self.cards) | set(self.secrets)
        return [
            version
            for version in self.configured_versions
            if version != self.active_version and version not in in_use
        ]


def vault_key_usage() -> dict[int, int]:
    """How many vaulted cards are sealed under each KEK version, lowest version first."""
    rows = (
        PaymentMethod.objects.filter(_VAULTED_CARD)
        .values_list("vault_key_version")
        .annotate(cards=Count("pk"))
        .order_by("vault_key_version")
    )
    return dict(rows)


@dataclass(frozen=True)
class _SealedSlot:
    """A pair of columns holding a secret sealed with `secret_seal` under a KEK version."""

    model: type[models.Model]
    sealed: str
    version: str


_SEALED_SLOTS = (
    _SealedSlot(GatewayAccount, "credentials_sealed", "credentials_key_version"),
    _SealedSlot(WebhookEndpoint, "secret_sealed", "secret_key_version"),
    _SealedSlot(WebhookEndpoint, "previous_secret_sealed", "previous_secret_key_version"),
)


def _secrets_key_usage() -> dict[int, int]:
    usage: Counter[int] = Counter()
    for slot in _SEALED_SLOTS:
        rows = (
            slot.model.objects.filter(
                **{f"{slot.sealed}__isnull": False, f"{slot.version}__isnull": False}
            )
            .values_list(slot.version)
            .annotate(n=Count("pk"))
        )
        usage.update(dict(rows))
    return dict(sorted(usage.items()))


def vault_key_status() -> VaultKeyStatus:
    keys = vault_keys()
    return VaultKeyStatus(
        active_version=keys.active_version,
        configured_versions=sorted(keys.keks),
        cards=vault_key_usage(),
        secrets=_secrets_key_usage(),
    )


def vault_keys_rotate(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[RotationReport], None] | None = None,
) -> RotationReport:
    """Re-wrap the data key of every card under an older KEK version with the active one, in
    batches of `batch_size` by primary key, each in its own transaction with its audit row.
    `on_batch` is called with the running report after each batch commits.

    A card whose data key cannot be unwrapped (its version is missing from VAULT_KEYS, or the
    key under it is not the one that wrapped it) is left as it is and reported in `failed`.
    Safe to run concurrently with itself and with live traffic: rows another transaction has
    locked are skipped (a later run gets them), and readers holding a card loaded before its
    batch committed can still open it, because the old version stays configured until an
    operator retires it."""
    report = RotationReport(to_version=vault_keys().active_version)
    last_id: str | None = None
    while True:
        with transaction.atomic():
            batch = _next_batch(report.to_version, after_id=last_id, size=batch_size)
            if not batch:
                break
            _batch_rewrap(batch, report)
        # Cards that failed keep their old version, so the version filter alone would select
        # them again forever: within a run, the primary key cursor moves past them.
        last_id = batch[-1].pk
        report.batches += 1
        if on_batch is not None:
            on_batch(report)
    return report


def _next_batch(to_version: int, *, after_id: str | None, size: int) -> list[PaymentMethod]:
    methods = PaymentMethod.objects.select_for_update(skip_locked=True).filter(
        _VAULTED_CARD, vault_key_version__lt=to_version
    )
    if after_id is not None:
        methods = methods.filter(pk__gt=after_id)
    # The ciphertext is not needed to re-wrap its key, so it is not even loaded.
    return list(methods.only("id", "vault_key_version", "vault_wrapped_key").order_by("pk")[:size])


def _batch_rewrap(batch: list[PaymentMethod], report: RotationReport) -> None:
    from_versions = Counter(method.vault_key_version for method in batch)
    rewrapped: list[PaymentMethod] = []
    failed: dict[str, str] = {}
    for method in batch:
        version = method.vault_key_version
        try:
            vault_key_rewrap(method)
        except VaultKeyMissing:
            failed[method.pk] = f"key version {version} is not in VAULT_KEYS"
        except InvalidTag:
            failed[method.pk] = f"data key does not unwrap under key version {version}"
        else:
            rewrapped.append(method)
    PaymentMethod.objects.bulk_update(rewrapped, ["vault_key_version", "vault_wrapped_key"])
    # One row per batch, not per run: a batch is the unit that commits, and its audit row has
    # to commit (or roll back) with it. Per card would add 500 rows for one operator action.
    audit_record(
        action=AuditAction.VAULT_KEYS_ROTATED,
        resource_type="vault_key",
        resource_id=str(report.to_version),
        old={"key_versions": {str(version): n for version, n in sorted(from_versions.items())}},
        new={
            "key_version": report.to_version,
            "rotated": len(rewrapped),
            "payment_methods": [method.pk for method in rewrapped],
            "failed": failed,
        },
        result=AuditResult.FAILURE if failed else AuditResult.SUCCESS,
    )
    report.rotated += len(rewrapped)
    report.failed.update(failed)


def secrets_reseal() -> tuple[int, dict[str, str]]:
    """Re-seal every secret sealed directly under an older KEK (gateway credentials, webhook
    signing secrets: a handful of rows, one transaction, one audit row). Returns (re-sealed,
    failed: record id → why)."""
    active = vault_keys().active_version
    resealed: list[str] = []
    failed: dict[str, str] = {}
    with transaction.atomic():
        for slot in _SEALED_SLOTS:
            rows = slot.model.objects.select_for_update().filter(
                **{f"{slot.sealed}__isnull": False, f"{slot.version}__lt": active}
            )
            for row in rows:
                version = getattr(row, slot.version)
                try:
                    plaintext = secret_open(
                        bytes(getattr(row, slot.sealed)), version=version, associated=row.pk
                    )
                except VaultKeyMissing:
                    failed[row.pk] = f"key version {version} is not in VAULT_KEYS"
                    continue
                except InvalidTag:
                    failed[row.pk] = f"{slot.sealed} does not open under key version {version}"
                    continue
                new_version, sealed = secret_seal(plaintext, associated=row.pk)
                setattr(row, slot.version, new_version)
                setattr(row, slot.sealed, sealed)
                row.save(update_fields=[slot.version, slot.sealed])
                resealed.append(row.pk)
        if resealed or failed:
            audit_record(
                action=AuditAction.VAULT_KEYS_ROTATED,
                resource_type="vault_key",
                resource_id=str(active),
                new={"key_version": active, "secrets": resealed, "failed": failed},
                result=AuditResult.FAILURE if failed else AuditResult.SUCCESS,
            )
    return len(resealed), failed
