#!/usr/bin/env bash
# Replay dead-lettered webhooks of a window (UTC, both ends included, dates are whole days):
#   --from=2024-01-01 --to=2024-01-02 [--dry-run] [--reason=…]
# Outbound deliveries to merchants by dead-letter time, then inbound gateway webhooks by the
# time they were received.
source "$(dirname "$0")/_paydesk.sh"
manage replay_webhooks "$@"
manage replay_inbound_webhooks "$@"
