#!/usr/bin/env bash
# Check every configured gateway account's credentials with a harmless read call.
# Prints one verdict per account; exits 1 if any failed. [--merchant=slug] [--live]
source "$(dirname "$0")/_paydesk.sh"
manage verify_gateway_credentials "$@"
