"""Base for management commands that change state: they act as `cli:<os user>` in the audit
trail, and domain errors print as one clear line instead of a traceback."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.context import acting_as, cli_context


class AuditedCommand(BaseCommand):
    # Domain errors carry a `message` for people; subclasses list the ones they expect.
    expected_errors: tuple[type[Exception], ...] = ()

    def execute(self, *args: Any, **options: Any) -> str | None:
        with acting_as(cli_context()):
            try:
                return super().execute(*args, **options)
            except self.expected_errors as exc:
                raise CommandError(getattr(exc, "message", str(exc))) from exc
