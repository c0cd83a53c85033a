from typing import Any

from audit.management.base import AuditedCommand
from compliance.operators import OperatorError, operator_create
from compliance.roles import ROLES
from payments.models import Merchant


class Command(AuditedCommand):
    help = (
        "Onboard a back-office operator with one role; prints the TOTP provisioning URI "
        "(and a generated password) once."
    )
    expected_errors = (OperatorError,)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--password", help="Default: a generated one, printed once")
        parser.add_argument(
            "--merchant",
            action="append",
            default=[],
            help="Limit the operator to this merchant (slug); repeat for several. Default: all",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        merchants = list(Merchant.objects.filter(slug__in=options["merchant"]))
        missing = set(options["merchant"]) - {merchant.slug for merchant in merchants}
        if missing:
            raise OperatorError(f"no merchant {sorted(missing)[0]!r}")
        created = operator_create(
            username=options["username"],
            email=options["email"],
            role=options["role"],
            password=options["password"],
            merchants=merchants,
        )
        self.stdout.write(f"Operator {created.user.username} created with role {options['role']}")
        if created.password:
            self.stdout.write(f"Password (shown once): {created.password}")
        self.stdout.write(f"TOTP (add to an authenticator app, shown once): {created.totp_uri}")
