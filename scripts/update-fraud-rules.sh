#!/usr/bin/env bash
# Load fraud rules from a YAML file: FILE [--dry-run] [--disable-missing]
source "$(dirname "$0")/_paydesk.sh"
manage update_fraud_rules "$@"
