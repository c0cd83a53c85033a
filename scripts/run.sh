#!/usr/bin/env bash
# What `make run` does after installing: prepare the database, load demo data, serve.
source "$(dirname "$0")/_paydesk.sh"
manage migrate --no-input -v 0
manage create_transaction_partitions --months-back 2 --months-ahead 3
manage collectstatic --no-input -v 0
manage seed_demo --url "http://${PAYDESK_BIND:-127.0.0.1:8092}"
# Metrics from every gunicorn worker, aggregated at /metrics (cleared at each start).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PAYDESK_ROOT/.data/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
exec .venv/bin/gunicorn config.wsgi:application -c config/gunicorn.py
