#!/usr/bin/env bash
# Block an IP on the API and back office: --ip=1.2.3.4 [--reason=…] [--expires-in=1h]
source "$(dirname "$0")/_paydesk.sh"
manage block_ip "$@"
