"""`POST /webhooks/stripe` and `POST /webhooks/paypal`: gateways tell us what happened. Not
atomic, no CSRF (the signature is the authentication), answers in milliseconds: the work is
queued. A delivery whose signature could not be checked yet is answered 503, so the gateway
delivers it again."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.context import current_context
from payments.services.inbound_webhooks import webhook_receive
from webhooks.models import WebhookLogStatus


def _receive(provider: str, request: HttpRequest) -> JsonResponse:
    log, accepted = webhook_receive(
        provider=provider,
        headers=dict(request.headers),
        body=request.body,
        source_ip=current_context().ip_address,
    )
    if accepted:
        return JsonResponse({"received": True, "status": log.status})
    if log.status == WebhookLogStatus.REJECTED:
        return _error(400, "invalid_request_error", "signature_invalid", log.last_error)
    return _error(503, "api_error", "verification_unavailable", log.last_error)


def _error(status: int, error_type: str, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"type": error_type, "code": code, "message": message, "param": None}},
        status=status,
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    return _receive("stripe", request)


@csrf_exempt
@require_POST
def paypal_webhook(request: HttpRequest) -> JsonResponse:
    return _receive("paypal", request)
