"""`/actuator/circuit-breaker…`: the runbook's emergency switch (`curl -X POST
…/actuator/circuit-breaker/enable`) and its per-gateway variant.

`enable` forces breakers open (no traffic reaches the gateway: payments fail fast as
`gateway_circuit_open`, nothing is charged); `disable` gives them back to the error-rate
rules. Admin credentials are required (HTTP Basic, a user with
`payments.configure_gateways`); every change is audited with who and from where.
"""

import base64
import binascii

from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from audit.context import set_actor
from audit.services import security_event_record
from payments.gateways import CREDENTIAL_FIELDS
from payments.models import BreakerOverride, GatewayBreaker
from payments.services.breakers import breaker_override, breaker_view

PERMISSION = "payments.configure_gateways"


def _known_gateways() -> list[str]:
    stored = GatewayBreaker.objects.values_list("gateway", flat=True)
    return sorted(set(CREDENTIAL_FIELDS) | set(stored))


def _operator(request: HttpRequest) -> str | JsonResponse:
    """The authenticated operator's username, or the 401/403 answer."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    username, password = "", ""
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = ""
    user = authenticate(request, username=username, password=password) if username else None
    if user is None or not user.is_active:
        security_event_record(
            event_type="actuator_auth_failed",
            details={"path": request.path, "username": username[:150]},
        )
        response = JsonResponse({"error": "admin credentials required"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="paydesk actuator"'
        return response
    if not user.has_perm(PERMISSION):
        security_event_record(
            event_type="actuator_permission_denied",
            details={"path": request.path, "username": user.get_username()},
        )
        return JsonResponse({"error": f"permission {PERMISSION} required"}, status=403)
    set_actor(actor_id=f"user:{user.get_username()}", actor_type="user")
    return user.get_username()


def _states(gateways: list[str]) -> dict[str, dict[str, str]]:
    now = timezone.now()
    views = {gateway: breaker_view(gateway) for gateway in gateways}
    return {
        gateway: {"state": view.effective(now), "rules": view.state, "override": view.override}
        for gateway, view in views.items()
    }


@csrf_exempt
@require_GET
def breakers(request: HttpRequest) -> JsonResponse:
    operator = _operator(request)
    if isinstance(operator, JsonResponse):
        return operator
    return JsonResponse({"gateways": _states(_known_gateways())})


@csrf_exempt
@require_POST
def switch(request: HttpRequest, action: str, gateway: str | None = None) -> JsonResponse:
    operator = _operator(request)
    if isinstance(operator, JsonResponse):
        return operator
    gateways = [gateway] if gateway else _known_gateways()
    if gateway and gateway not in _known_gateways():
        return JsonResponse({"error": f"unknown gateway {gateway[:40]}"}, status=404)
    override = BreakerOverride.FORCED_OPEN if action == "enable" else BreakerOverride.NONE
    reason = request.GET.get("reason", "")[:300] or f"actuator {action} by {operator}"
    for name in gateways:
        breaker_override(name, override, reason=reason)
    return JsonResponse({"gateways": _states(gateways)})
