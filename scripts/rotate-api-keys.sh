#!/usr/bin/env bash
# Rotate API keys: --older-than=90d [--grace=24h] [--dry-run]
source "$(dirname "$0")/_paydesk.sh"
manage rotate_api_keys "$@"
