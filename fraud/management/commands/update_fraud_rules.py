import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from audit.management.base import AuditedCommand
from fraud.rules import RuleError
from fraud.rules_file import RulesFileError, load_rules_file
from fraud.services import fraud_rules_apply, fraud_rules_plan


class Command(AuditedCommand):
    help = (
        "Load fraud rules from a YAML file (the runbook's shape): validate everything, show the "
        "diff, then apply it in one transaction."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and show the diff only"
        )
        parser.add_argument(
            "--disable-missing", action="store_true", help="Disable enabled rules the file omits"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            specs = load_rules_file(options["file"])
            plan = fraud_rules_plan(specs, disable_missing=options["disable_missing"])
        except RulesFileError as exc:
            raise CommandError(
                f"{options['file']} is not valid; nothing changed:\n  " + "\n  ".join(exc.problems)
            ) from exc
        except RuleError as exc:
            raise CommandError(f"{options['file']}: {exc}; nothing changed") from exc
        for change in plan:
            self.stdout.write(f"{change.change:>9}  {change.name}")
            if change.change in ("added", "changed", "disabled"):
                for field in sorted((change.new or {}).keys()):
                    old = (change.old or {}).get(field)
                    new = change.new[field]
                    if old != new:
                        self.stdout.write(
                            f"           {field}: {json.dumps(old)} → {json.dumps(new)}"
                        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing changed.")
            return
        changes = fraud_rules_apply(specs, disable_missing=options["disable_missing"])
        applied = sum(change.change != "unchanged" for change in changes)
        self.stdout.write(f"Applied {applied} change(s).")
