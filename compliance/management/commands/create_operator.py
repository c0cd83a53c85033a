from typing import Any

from audit.management.base import AuditedCommand
from compliance.operators import OperatorError, operator_create
from compliance.roles import ROLES


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

    def handle(self, *args: Any, **options: Any) -> None:
        created = operator_create(
            username=options["username"],
            email=options["email"],
            role=options["role"],
            password=options["password"],
        )
        self.stdout.write(f"Operator {created.user.username} created with role {options['role']}")
        if created.password:
            self.stdout.write(f"Password (shown once): {created.password}")
        self.stdout.write(f"TOTP (add to an authenticator app, shown once): {created.totp_uri}")
