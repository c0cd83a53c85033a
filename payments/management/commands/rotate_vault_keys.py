import argparse
from typing import Any

from django.core.management.base import CommandError, OutputWrapper

from audit.management.base import AuditedCommand
from payments.services.vault_rotation import (
    DEFAULT_BATCH_SIZE,
    RotationReport,
    VaultKeyStatus,
    secrets_reseal,
    vault_key_status,
    vault_keys_rotate,
)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _per_version(counts: dict[int, int]) -> str:
    return ", ".join(f"v{version}: {n}" for version, n in counts.items()) or "none"


def _versions(versions: list[int]) -> str:
    return ", ".join(f"v{version}" for version in versions) or "none"


class _ProgressLine:
    """One stderr line rewritten in place with "\\r" (tqdm is not a dependency of the project)."""

    def __init__(self, stream: OutputWrapper, total: int) -> None:
        self.stream = stream
        self.total = total

    def show(self, done: int, failed: int) -> None:
        percent = 100 * done // self.total
        line = f"\rRe-wrapping card keys: {done}/{self.total} ({percent}%)"
        if failed:
            line += f", {failed} failed"
        # Plain text: on a terminal stderr is otherwise styled as an error.
        self.stream.write(line, ending="", style_func=str)
        self.stream.flush()

    def update(self, report: RotationReport) -> None:
        self.show(report.processed, len(report.failed))

    def close(self) -> None:
        self.stream.write("", style_func=str)


class Command(AuditedCommand):
    help = (
        "Re-wrap every stored card's data key under the newest VAULT_KEYS version, in batches "
        "that each commit on their own (stop it any time; running it again continues). Then "
        "versions with nothing left under them can be removed from VAULT_KEYS."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Cards per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run", action="store_true", help="Print what would be re-wrapped, change nothing"
        )
        mode.add_argument(
            "--status",
            action="store_true",
            help="Print what is sealed under each key version and which versions can be retired",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        status = vault_key_status()
        if options["status"]:
            self._print_status(status)
            return
        to_rewrap = sum(status.pending.values())
        if options["dry_run"]:
            self.stdout.write(
                f"Would re-wrap {to_rewrap} card(s) under key version {status.active_version} "
                f"({_per_version(status.pending)})."
            )
            self._print_missing(status)
            return
        secrets_pending = any(v < status.active_version for v in status.secrets)
        if not to_rewrap and not secrets_pending:
            self.stdout.write(
                f"Nothing to re-wrap: every card is under key version {status.active_version}."
            )
            return
        failed: dict[str, str] = {}
        if to_rewrap:
            report = self._rotate(options["batch_size"], total=to_rewrap)
            self.stdout.write(
                f"Re-wrapped {report.rotated} card(s) under key version {report.to_version} "
                f"in {report.batches} batch(es)."
            )
            failed.update(report.failed)
        resealed, secrets_failed = secrets_reseal()
        if resealed or secrets_failed:
            self.stdout.write(f"Re-sealed {resealed} secret(s) (gateway credentials, webhooks).")
        failed.update(secrets_failed)
        for record_id, reason in failed.items():
            self.stdout.write(f"  failed {record_id}: {reason}")
        after = vault_key_status()
        self.stdout.write(f"Remaining under older versions: {_per_version(after.pending)}")
        self.stdout.write(f"Safe to retire: {_versions(after.retirable)}")
        if failed:
            raise CommandError(
                f"{len(failed)} record(s) could not be re-wrapped (listed above); "
                "their key versions must stay in VAULT_KEYS."
            )

    def _rotate(self, batch_size: int, *, total: int) -> RotationReport:
        progress = _ProgressLine(self.stderr, total)
        progress.show(0, 0)
        try:
            return vault_keys_rotate(batch_size=batch_size, on_batch=progress.update)
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted. Batches already done are saved; run the command again to continue."
            ) from None
        finally:
            progress.close()

    def _print_status(self, status: VaultKeyStatus) -> None:
        self.stdout.write(
            f"Active key version: v{status.active_version} "
            f"(VAULT_KEYS holds {_versions(status.configured_versions)})"
        )
        self.stdout.write(f"Cards per key version: {_per_version(status.cards)}")
        self.stdout.write(f"Sealed secrets per key version: {_per_version(status.secrets)}")
        self.stdout.write(f"Safe to retire: {_versions(status.retirable)}")
        self._print_missing(status)

    def _print_missing(self, status: VaultKeyStatus) -> None:
        if status.missing:
            self.stdout.write(
                f"Missing from VAULT_KEYS (what is sealed under them cannot be read): "
                f"{_versions(status.missing)}"
            )
