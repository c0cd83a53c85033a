import datetime as dt
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from audit.management.base import AuditedCommand
from payments.services.reconciliation import reconcile_day


class Command(AuditedCommand):
    help = (
        "Reconcile each gateway's records for a day (default: yesterday, UTC) against our "
        "ledger; differences become reconciliation exceptions for operators."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (UTC); default yesterday")
        parser.add_argument("--gateway", help="Only this gateway (sandbox, stripe, paypal)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = (
                dt.date.fromisoformat(options["date"])
                if options["date"]
                else timezone.now().date() - dt.timedelta(days=1)
            )
        except ValueError as exc:
            raise CommandError("--date must look like 2024-01-31") from exc
        runs = reconcile_day(day, gateway=options["gateway"])
        failed = 0
        for run in runs:
            owner = run.merchant.slug if run.merchant else "all merchants"
            mode = "live" if run.livemode else "test"
            if run.error:
                failed += 1
                self.stdout.write(f"FAIL {run.gateway} {owner} {mode} {day}: {run.error}")
            else:
                self.stdout.write(
                    f"{'OK  ' if not run.exceptions else 'DIFF'} {run.gateway} {owner} {mode} "
                    f"{day}: {run.matched} matched, {run.exceptions} exceptions "
                    f"(gateway {run.gateway_records}, ledger {run.ledger_records}) run #{run.id}"
                )
        if failed:
            raise CommandError(f"{failed} gateway(s) could not be reconciled")
