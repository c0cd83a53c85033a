from typing import Any

from audit.management.base import AuditedCommand
from fraud.ip_blocks import IpBlockError, ip_block_lift


class Command(AuditedCommand):
    help = "Lift every active block of an IP address (set by the brute-force rule or an operator)."
    expected_errors = (IpBlockError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--ip", required=True, help="One IPv4 or IPv6 address")
        parser.add_argument("--reason", default="", help="Why, for the audit trail")

    def handle(self, *args: Any, **options: Any) -> None:
        lifted = ip_block_lift(ip_address=options["ip"], reason=options["reason"])
        if not lifted:
            self.stdout.write(f"{options['ip']} is not blocked; nothing changed.")
            return
        ids = ", ".join(str(block.pk) for block in lifted)
        self.stdout.write(f"Unblocked {lifted[0].ip_address}: lifted block(s) {ids}.")
