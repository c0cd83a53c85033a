from typing import Any

from audit.management.base import AuditedCommand
from audit.management.durations import parse_duration
from payments.errors import PaydeskError
from payments.services.api_keys import api_key_rotate, api_keys_due_for_rotation


class Command(AuditedCommand):
    help = (
        "Replace every active API key older than --older-than with a new one (same merchant, "
        "mode, scopes). Old keys keep working for --grace, then expire. New secrets print once."
    )
    expected_errors = (PaydeskError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--older-than", required=True, help="e.g. 90d")
        parser.add_argument(
            "--grace", default="24h", help="How long old keys keep working (default 24h)"
        )
        parser.add_argument("--dry-run", action="store_true", help="List the keys, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        due = api_keys_due_for_rotation(older_than=parse_duration(options["older_than"]))
        grace = parse_duration(options["grace"])
        if not due:
            self.stdout.write("No API keys are due for rotation.")
            return
        for api_key in due:
            if options["dry_run"]:
                self.stdout.write(
                    f"Would rotate {api_key.id} ({api_key.masked}) of {api_key.merchant.slug}, "
                    f"created {api_key.created_at:%Y-%m-%d}"
                )
                continue
            issued = api_key_rotate(api_key=api_key, grace=grace)
            api_key.refresh_from_db(fields=["expires_at"])
            self.stdout.write(
                f"Rotated {api_key.id} of {api_key.merchant.slug} → {issued.api_key.id}; "
                f"the old key works until {api_key.expires_at:%Y-%m-%d %H:%M} UTC"
            )
            self.stdout.write(f"  new secret (shown once): {issued.secret}")
        self.stdout.write(f"{len(due)} key(s) {'due' if options['dry_run'] else 'rotated'}.")
