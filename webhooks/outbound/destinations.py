"""Where a webhook may go (the SSRF guard). A merchant chooses the URL, so without this check
our workers would POST wherever it points: the cloud metadata service, the database, the
admin on localhost.

Only https, and only hosts whose every address (IPv4 and IPv6) is public: not loopback,
private, shared, link-local, reserved, multicast or unspecified, including IPv4 addresses
hidden in IPv6 (mapped, 6to4, Teredo). Checked when the endpoint is saved and again right
before each attempt; the attempt then connects to the address that was checked
(`Destination.address`), so a DNS answer that changes in between (rebinding) cannot redirect
it. `WEBHOOK_ALLOW_LOOPBACK` admits http and loopback addresses (tests, local demos), never
any other private range.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from webhooks.outbound.errors import DestinationRefused, DestinationUnresolvable, EndpointInvalid

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DEFAULT_PORTS = {"https": 443, "http": 80}
_validate_url = URLValidator(schemes=["https", "http"])


@dataclass(frozen=True)
class Destination:
    host: str  # as written in the URL: the Host header, TLS SNI and certificate name
    host_header: str
    port: int
    scheme: str
    target: str  # path and query
    address: str  # the checked address the connection is made to


def destination_check(url: str) -> Destination:
    """Refuse a URL we must not send to (`EndpointInvalid` and its subclasses), or return
    where to connect."""
    allow_loopback = settings.WEBHOOK_ALLOW_LOOPBACK
    if len(url) > MAX_URL_LENGTH:
        raise EndpointInvalid(f"url is longer than {MAX_URL_LENGTH} characters.", param="url")
    try:
        _validate_url(url)
    except ValidationError:
        raise EndpointInvalid("url is not a valid URL.", param="url") from None
    parts = urlsplit(url)
    if parts.scheme != "https" and not allow_loopback:
        raise DestinationRefused("Webhook endpoints must use https.")
    if parts.username is not None or parts.password is not None:
        # They would be stored and shown in plain text with the URL.
        raise EndpointInvalid("url cannot contain a user name or password.", param="url")
    try:
        # IDNA: the name as DNS, the Host header and TLS know it.
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except (UnicodeError, ValueError):
        raise EndpointInvalid("url has an invalid host name or port.", param="url") from None
    addresses = _resolve(host, port)
    for address in addresses:
        refusal = _refusal(address, allow_loopback=allow_loopback)
        if refusal:
            raise DestinationRefused(
                f"{host} resolves to {address}, a {refusal} address: webhooks are only sent "
                "to public internet addresses."
            )
    return Destination(
        host=host,
        host_header=_host_header(host, parts.port),
        port=port,
        scheme=parts.scheme,
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        address=str(addresses[0]),
    )


def _host_header(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return f"{name}:{port}" if port else name


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise DestinationUnresolvable(f"{host} does not resolve ({exc}).") from None
    addresses = dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos)
    if not addresses:
        raise DestinationUnresolvable(f"{host} does not resolve.")
    return list(addresses)


def _refusal(address: IPAddress, *, allow_loopback: bool) -> str:
    """Why we never send to `address` ("" when we may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return "" if allow_loopback else "loopback"
    for kind in ("unspecified", "multicast", "link_local", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if not address.is_global:  # 100.64.0.0/10 (carrier-grade NAT) and the like
        return "non-public"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.sixtofour, *(address.teredo or ())]
        if any(v4 and _refusal(v4, allow_loopback=False) for v4 in embedded):
            return "tunnelled non-public"
    return ""
