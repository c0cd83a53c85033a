from typing import Any

from audit.management.base import AuditedCommand
from payments.services.recovery import recovery_run


class Command(AuditedCommand):
    help = (
        "Ask the gateways about payments and refunds left PROCESSING (what the Celery beat "
        "task does every 5 minutes) and print what was settled, retried or flagged."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=200, help="At most this many of each")

    def handle(self, *args: Any, **options: Any) -> None:
        report = recovery_run(limit=options["limit"])
        for outcome, ids in vars(report).items():
            self.stdout.write(f"{outcome}: {len(ids)} {' '.join(ids)}".rstrip())
