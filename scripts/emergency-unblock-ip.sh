#!/usr/bin/env bash
# Lift the blocks of an IP: --ip=1.2.3.4 [--reason=…]
source "$(dirname "$0")/_paydesk.sh"
manage unblock_ip "$@"
