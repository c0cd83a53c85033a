# Sourced by the runbook scripts: run from the checkout, with its virtualenv and (when
# DATABASE_URL is unset) its embedded PostgreSQL, whatever the caller's working directory.
set -euo pipefail
PAYDESK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$PAYDESK_ROOT"
if [ ! -x .venv/bin/python ]; then
  echo "Paydesk is not installed here yet: run 'make run' (or 'make install') first." >&2
  exit 2
fi
manage() { .venv/bin/python manage.py "$@"; }
