from typing import Any

from django.core.management.base import CommandError

from audit.context import current_context
from audit.management.base import AuditedCommand
from config.cli_dates import window_bound
from payments.services.inbound_webhooks import webhooks_replay_window


class Command(AuditedCommand):
    help = (
        "Replay dead-lettered inbound gateway webhooks received in a window (UTC; dates are "
        "whole days, both included)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", required=True, help="2024-01-01 or ISO time")
        parser.add_argument("--to", dest="end", required=True, help="2024-01-02 or ISO time")
        parser.add_argument("--reason", default="runbook replay", help="For the audit trail")
        parser.add_argument("--dry-run", action="store_true", help="List, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = window_bound(options["start"], end=False)
            end = window_bound(options["end"], end=True)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        replayed = webhooks_replay_window(
            start=start,
            end=end,
            operator=f"{current_context().actor_id} ({options['reason']})",
            dry_run=options["dry_run"],
        )
        verb = "Would replay" if options["dry_run"] else "Replayed"
        self.stdout.write(f"{verb} {len(replayed)} inbound webhooks received in the window.")
        for log_id in replayed:
            self.stdout.write(f"  webhook_log {log_id}")
