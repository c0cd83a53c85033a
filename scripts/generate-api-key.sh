#!/usr/bin/env bash
# Issue an API key: --client=merchant-123 --scopes=payment:create,payment:read [--mode=live]
source "$(dirname "$0")/_paydesk.sh"
manage generate_api_key "$@"
