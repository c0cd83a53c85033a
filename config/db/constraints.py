"""Which constraint a failed write violated (PostgreSQL's diagnostics, through psycopg)."""

from django.db import IntegrityError


def violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
