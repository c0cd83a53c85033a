"""`POST /webhooks/stripe`: gateways tell us what happened. Not atomic, no CSRF (the
signature is the authentication), answers in milliseconds: the work is queued."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.context import current_context
from payments.services.inbound_webhooks import webhook_receive


def _receive(provider: str, request: HttpRequest) -> JsonResponse:
    log, accepted = webhook_receive(
        provider=provider,
        headers=dict(request.headers),
        body=request.body,
        source_ip=current_context().ip_address,
    )
    if not accepted:
        return JsonResponse(
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "signature_invalid",
                    "message": log.last_error,
                    "param": None,
                }
            },
            status=400,
        )
    return JsonResponse({"received": True, "status": log.status})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    return _receive("stripe", request)
