from typing import Any

from django.core.management.base import BaseCommand

from payments.services.partitions import transaction_partitions_ensure


class Command(BaseCommand):
    help = "Create the monthly partitions of payment.transactions (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--months-back", type=int, default=0)
        parser.add_argument("--months-ahead", type=int, default=3)

    def handle(self, *args: Any, **options: Any) -> None:
        created = transaction_partitions_ensure(
            months_back=options["months_back"], months_ahead=options["months_ahead"]
        )
        self.stdout.write("Created " + ", ".join(created) if created else "All partitions exist.")
