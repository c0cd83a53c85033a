import csv
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from audit.management.base import AuditedCommand
from audit.services import audit_record
from fraud.models import BinRange


class Command(AuditedCommand):
    help = (
        "Load issuer countries by BIN prefix from a CSV file with the columns prefix,country "
        "(4-8 digits, ISO 3166-1 alpha-2); validates every line before changing anything."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--replace", action="store_true", help="Delete ranges not in the file")

    def handle(self, *args: Any, **options: Any) -> None:
        rows, problems = {}, []
        try:
            with options["file"].open(newline="") as handle:
                for line, row in enumerate(csv.reader(handle), start=1):
                    if not row or row[0].strip().lower() == "prefix":
                        continue
                    prefix, country = [*row, "", ""][:2]
                    prefix, country = prefix.strip(), country.strip().upper()
                    if not (prefix.isdigit() and prefix.isascii() and 4 <= len(prefix) <= 8):
                        problems.append(f"line {line}: prefix '{prefix}' is not 4-8 digits")
                    elif not (len(country) == 2 and country.isalpha() and country.isascii()):
                        problems.append(f"line {line}: country '{country}' is not two letters")
                    else:
                        rows[prefix] = country
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        if problems:
            raise CommandError("nothing loaded:\n  " + "\n  ".join(problems))
        with transaction.atomic():
            if options["replace"]:
                BinRange.objects.exclude(prefix__in=rows).delete()
            BinRange.objects.bulk_create(
                [BinRange(prefix=prefix, country=country) for prefix, country in rows.items()],
                update_conflicts=True,
                unique_fields=["prefix"],
                update_fields=["country", "updated_at"],
            )
            audit_record(
                action="bin_ranges.loaded",
                resource_type="bin_ranges",
                resource_id=str(options["file"].name),
                new={"ranges": len(rows), "replace": options["replace"]},
            )
        self.stdout.write(f"Loaded {len(rows)} BIN range(s).")
