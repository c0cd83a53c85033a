#!/usr/bin/env bash
# Replay dead-lettered outbound webhooks by dead-letter time (UTC, both ends included):
#   --from=2024-01-01 --to=2024-01-02 [--dry-run] [--reason=…]
source "$(dirname "$0")/_paydesk.sh"
manage replay_webhooks "$@"
