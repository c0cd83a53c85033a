from typing import Any

from django.utils import timezone

from audit.management.base import AuditedCommand
from audit.management.durations import parse_duration
from fraud.ip_blocks import IpBlockError, ip_block_create


class Command(AuditedCommand):
    help = (
        "Block an IP address on the API and the back office (the runbook's emergency "
        "containment). Until lifted unless --expires-in is given."
    )
    expected_errors = (IpBlockError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--ip", required=True, help="One IPv4 or IPv6 address")
        parser.add_argument("--reason", default="", help="Why, for the audit trail")
        parser.add_argument("--expires-in", default="", help="e.g. 1h, 7d; default: until lifted")

    def handle(self, *args: Any, **options: Any) -> None:
        blocked_until = (
            timezone.now() + parse_duration(options["expires_in"])
            if options["expires_in"]
            else None
        )
        block, created = ip_block_create(
            ip_address=options["ip"], reason=options["reason"], blocked_until=blocked_until
        )
        until = (
            f"until {block.blocked_until:%Y-%m-%d %H:%M:%S} UTC"
            if block.blocked_until
            else "until lifted"
        )
        if created:
            self.stdout.write(f"Blocked {block.ip_address} {until} (block {block.pk}).")
        else:
            self.stdout.write(
                f"{block.ip_address} is already blocked {until} (block {block.pk}, "
                f"{block.source}); nothing changed."
            )
