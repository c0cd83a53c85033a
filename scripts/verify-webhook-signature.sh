#!/usr/bin/env bash
# Check a webhook's signature and say why it fails:
#   ./scripts/verify-webhook-signature.sh --log=123                      (a stored inbound webhook)
#   ./scripts/verify-webhook-signature.sh --payload=body.json --signature="t=…,v1=…" [--secret=whsec_…]
#   ./scripts/verify-webhook-signature.sh --delivery=ID                  (the last attempt of an outbound delivery)
#   ./scripts/verify-webhook-signature.sh --payload=body.json --webhook-id=msg_… --webhook-timestamp=… --signature="v1,…" --secret=whsec_…
source "$(dirname "$0")/_paydesk.sh"
manage verify_webhook_signature "$@"
