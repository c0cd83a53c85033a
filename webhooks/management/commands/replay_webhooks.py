import datetime as dt
from typing import Any

from django.core.management.base import CommandError

from audit.management.base import AuditedCommand
from config.cli_dates import window_bound
from webhooks.outbound.errors import WebhookError
from webhooks.outbound.replay import (
    REPLAY_MAX_PER_MINUTE,
    dead_letters_in_window,
    deliveries_replay_window,
)


def _bound(text: str, *, end: bool) -> dt.datetime:
    try:
        return window_bound(text, end=end)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(AuditedCommand):
    help = (
        "Replay dead-lettered outbound webhooks by dead-letter time (UTC): --from and --to "
        "are both included, dates meaning whole days. Replays are spread at "
        f"{REPLAY_MAX_PER_MINUTE} per minute."
    )
    expected_errors = (WebhookError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="start", required=True, help="2024-01-01 or ISO time")
        parser.add_argument("--to", dest="end", required=True, help="2024-01-02 or ISO time")
        parser.add_argument("--reason", default="runbook replay", help="For the audit trail")
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be replayed, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _bound(options["start"], end=False), _bound(options["end"], end=True)
        if end < start:
            raise CommandError("--to is before --from.")
        window = f"dead-lettered {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC"
        if options["dry_run"]:
            found = dead_letters_in_window(start=start, end=end)
            self.stdout.write(f"Would replay {len(found)} deliveries {window}:")
            for delivery_id in found:
                self.stdout.write(f"  {delivery_id}")
            return
        report = deliveries_replay_window(start=start, end=end, reason=options["reason"])
        self.stdout.write(f"Replayed {len(report.replayed)} deliveries {window}.")
        for delivery_id, why in report.skipped.items():
            self.stdout.write(f"Skipped {delivery_id}: {why}")
