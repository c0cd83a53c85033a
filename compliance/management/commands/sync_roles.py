from typing import Any

from audit.management.base import AuditedCommand
from compliance.roles import roles_sync


class Command(AuditedCommand):
    help = "Create the runbook's roles (Django groups) with exactly their permissions."

    def handle(self, *args: Any, **options: Any) -> None:
        for role, count in roles_sync().items():
            self.stdout.write(f"{role}: {count} permissions")
