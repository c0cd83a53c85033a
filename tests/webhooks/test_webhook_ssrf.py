"""Webhooks go only to public https addresses, checked when the endpoint is saved and again
right before each attempt, which then connects to the checked address (DNS rebinding cannot
swap it). WEBHOOK_ALLOW_LOOPBACK admits http and loopback, never other private ranges."""

import socket

import pytest
from django.utils import timezone

from tests.webhooks.helpers import attempt_at, endpoint_for, publish
from tests.webhooks.receiver import Answer, Receiver, self_signed_certificate
from webhooks.models import WebhookDelivery
from webhooks.outbound import transport
from webhooks.outbound.relay import outbox_relay

ENDPOINTS_URL = "/api/v1/webhook-endpoints"
PUBLIC_ADDRESS = "93.184.216.34"
FORBIDDEN_ANYWAY = [
    "https://10.0.0.1/hooks",
    "https://172.16.5.4/hooks",
    "https://192.168.1.1/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://[fc00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[ff02::1]/hooks",
    "https://[2002:a00:1::1]/hooks",
]
LOOPBACK = [
    "https://127.0.0.1/hooks",
    "https://127.8.9.10/hooks",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://localhost/hooks",
]


class FakeDns:
    """Answers for chosen host names (any other name resolves as usual), and every name
    looked up."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def __setitem__(self, host: str, addresses: list[str]) -> None:
        self.answers[host] = addresses


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        fake.lookups.append(host)
        if host not in fake.answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
            for address in fake.answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def create(client, url: str):
    return client.post(ENDPOINTS_URL, {"url": url, "enabled_events": ["*"]}, format="json")


def delivery_for_new_event(merchant, now) -> WebhookDelivery:
    event = publish(merchant)
    outbox_relay(now=now)
    return WebhookDelivery.objects.get(event=event)


def test_endpoints_must_use_https(api_client, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False

    response = create(api_client, "http://example.com/hooks")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "url"
    assert "https" in response.json()["error"]["message"]


@pytest.mark.parametrize("url", FORBIDDEN_ANYWAY + LOOPBACK)
def test_endpoints_resolving_to_non_public_addresses_are_refused(api_client, settings, url):
    settings.WEBHOOK_ALLOW_LOOPBACK = False

    response = create(api_client, url)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "url"
    assert "only sent to public internet addresses" in response.json()["error"]["message"]


@pytest.mark.parametrize("url", FORBIDDEN_ANYWAY)
def test_the_loopback_flag_never_admits_other_private_ranges(api_client, url):
    assert create(api_client, url).status_code == 400


def test_the_loopback_flag_admits_http_to_loopback(api_client, receiver):
    assert create(api_client, receiver.url()).status_code == 201
    assert create(api_client, receiver.url(host="localhost")).status_code == 201


def test_a_name_with_any_private_address_is_refused(api_client, settings, dns):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["hooks.example.test"] = [PUBLIC_ADDRESS]
    dns["mixed.example.test"] = [PUBLIC_ADDRESS, "10.0.0.7"]

    assert create(api_client, "https://hooks.example.test/hooks").status_code == 201
    assert create(api_client, "https://mixed.example.test/hooks").status_code == 400


def test_addresses_are_checked_again_before_each_attempt(merchant, receiver, settings):
    endpoint_for(merchant, receiver.url())
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    now = timezone.now()
    delivery = delivery_for_new_event(merchant, now)

    attempt = attempt_at(delivery, now)

    assert (attempt.error_kind, attempt.error) == ("ssrf", "Webhook endpoints must use https.")
    assert receiver.requests == []
    assert delivery.status == "retrying"


@pytest.mark.parametrize("rebound_to", ["10.0.0.7", "127.0.0.1", "::1"])
def test_a_name_rebound_to_a_private_address_after_the_endpoint_was_saved_is_not_sent_to(
    merchant, settings, dns, rebound_to
):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["hooks.example.test"] = [PUBLIC_ADDRESS]
    endpoint_for(merchant, "https://hooks.example.test/hooks")
    dns["hooks.example.test"] = [rebound_to]
    now = timezone.now()
    delivery = delivery_for_new_event(merchant, now)

    attempt = attempt_at(delivery, now)

    assert attempt.error_kind == "ssrf"
    assert rebound_to in attempt.error


def test_a_delivery_connects_to_the_checked_address_under_the_urls_host_name(
    merchant, receiver, dns
):
    dns["hooks.example.test"] = ["127.0.0.1"]
    created = endpoint_for(merchant, receiver.url(host="hooks.example.test"))
    now = timezone.now()
    delivery = delivery_for_new_event(merchant, now)
    dns.lookups.clear()

    attempt = attempt_at(delivery, now)

    assert attempt.succeeded, attempt.error
    # Resolved once, by the check; the connection went to the checked address as it was.
    assert dns.lookups == ["hooks.example.test", "127.0.0.1"]
    (request,) = receiver.requests
    assert request.headers["Host"] == f"hooks.example.test:{receiver.port}"
    assert created.endpoint.url.startswith("http://hooks.example.test:")


def test_an_international_host_name_is_sent_as_idna(merchant, receiver, dns):
    dns["xn--bcher-kva.example.test"] = ["127.0.0.1"]
    endpoint_for(merchant, receiver.url(host="bücher.example.test"))
    now = timezone.now()

    attempt = attempt_at(delivery_for_new_event(merchant, now), now)

    assert attempt.succeeded, attempt.error
    assert receiver.requests[0].headers["Host"] == f"xn--bcher-kva.example.test:{receiver.port}"


@pytest.mark.parametrize(
    ("certificate_name", "succeeds"), [("hooks.example.test", True), ("other.example.test", False)]
)
def test_https_to_the_checked_address_verifies_the_certificate_for_the_host_name(
    merchant, dns, monkeypatch, tmp_path, certificate_name, succeeds
):
    certificate = self_signed_certificate(certificate_name, tmp_path)
    monkeypatch.setattr(transport, "tls_context", certificate.client_context)
    tls_receiver = Receiver(certificate=certificate)
    dns["hooks.example.test"] = ["127.0.0.1"]
    try:
        endpoint_for(merchant, tls_receiver.url(host="hooks.example.test"))
        now = timezone.now()
        attempt = attempt_at(delivery_for_new_event(merchant, now), now)
    finally:
        tls_receiver.stop()

    assert attempt.succeeded is succeeds
    assert len(tls_receiver.requests) == (1 if succeeds else 0)
    if not succeeds:
        assert attempt.error_kind == "tls"


def test_redirects_are_never_followed(merchant, receiver):
    elsewhere = Receiver()
    receiver.answer(Answer(status=302, headers={"Location": elsewhere.url()}))
    endpoint_for(merchant, receiver.url())
    now = timezone.now()
    try:
        attempt = attempt_at(delivery_for_new_event(merchant, now), now)
    finally:
        elsewhere.stop()

    assert (attempt.response_status, attempt.succeeded) == (302, False)
    assert elsewhere.requests == []
