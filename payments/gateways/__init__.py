"""Gateway registry: the one place that maps a gateway name to its implementation."""

from payments.gateways.interface import Gateway
from payments.gateways.sandbox import SandboxGateway

_GATEWAYS: dict[str, Gateway] = {"sandbox": SandboxGateway()}


def gateway_get(name: str) -> Gateway:
    return _GATEWAYS[name]


def gateway_names() -> list[str]:
    return sorted(_GATEWAYS)
