# Paydesk. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install lint format worker beat bench bench-reference bench-cpu bench-instructions bench-fraud stop-db clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve on http://127.0.0.1:8092 with demo data (embedded PostgreSQL unless DATABASE_URL is set)
run: $(STAMP)
	./scripts/run.sh

## The test suite (embedded PostgreSQL unless DATABASE_URL is set)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Celery worker for both queues (needs REDIS_URL)
worker: $(STAMP)
	$(VENV)/bin/celery -A config worker -Q default,webhook_queue --loglevel INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A config beat --loglevel INFO

## Load benchmark against a running `make run` server (see tests/bench/README.md)
bench: $(STAMP)
	$(VENV)/bin/python tests/bench/payments_bench.py

## Paydesk against a plain DRF view on this machine, in alternating runs (DESIGN.md's yardstick)
bench-reference: $(STAMP)
	$(VENV)/bin/python tests/bench/reference_bench.py

## CPU per payment (Python and PostgreSQL), one request at a time, no HTTP (make run's database)
bench-cpu: $(STAMP)
	$(VENV)/bin/python tests/bench/payment_cpu.py

## Instructions per payment (Python side) under valgrind: steady where CPU time drifts
bench-instructions: $(STAMP)
	$(VENV)/bin/python tests/bench/payment_instructions.py

## Fraud screening latency with 1,000,000 payments of history (uses make run's database)
bench-fraud: $(STAMP)
	$(VENV)/bin/python tests/bench/fraud_bench.py

stop-db:
	./scripts/stop-embedded-db.sh

clean: stop-db
	rm -rf .data
