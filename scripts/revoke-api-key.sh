#!/usr/bin/env bash
# Revoke an API key: --key=sk_live_… [--reason=…]
source "$(dirname "$0")/_paydesk.sh"
manage revoke_api_key "$@"
