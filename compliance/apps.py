from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    from compliance.roles import roles_sync

    roles_sync()


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # After every migrate, once all apps' permissions exist: the roles follow the code.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="compliance.sync_roles")
