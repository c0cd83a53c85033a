#!/usr/bin/env bash
# Stop the embedded PostgreSQL that `make run` / `make test` start under .data/pg.
source "$(dirname "$0")/_paydesk.sh"
pg_ctl=$(.venv/bin/python -c 'import pgserver, pathlib; print(pathlib.Path(pgserver.__file__).parent / "pginstall/bin/pg_ctl")')
[ -f .data/pg/postmaster.pid ] || { echo "Embedded PostgreSQL is not running."; exit 0; }
if [ "$(id -u)" = 0 ]; then
  su pgserver -s /bin/sh -c "$pg_ctl -D $PAYDESK_ROOT/.data/pg stop -m fast"
else
  "$pg_ctl" -D .data/pg stop -m fast
fi
