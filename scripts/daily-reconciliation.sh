#!/usr/bin/env bash
# Reconcile every gateway's records against our ledger for a day (default yesterday, UTC).
# [--date=YYYY-MM-DD] [--gateway=sandbox|stripe|paypal]. Differences are listed in the back
# office (Reconciliation exceptions) for an operator to resolve with a note.
source "$(dirname "$0")/_paydesk.sh"
manage reconcile "$@"
