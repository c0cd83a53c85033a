"""The geographic rule locates a payment by client_location, else the customer's IP in a
GeoIP database, else the billing country."""

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from fraud import geo
from fraud.models import FraudObservation
from payments.models import Payment
from tests.conftest import card_data, create_payment

PARIS_NET, NEW_YORK_NET = "203.0.113.0/24", "198.51.100.0/24"


@pytest.fixture
def geoip_database(settings, tmp_path):
    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet([PARIS_NET]), {"location": {"latitude": 48.8566, "longitude": 2.3522}}
    )
    writer.insert_network(
        IPSet([NEW_YORK_NET]), {"location": {"latitude": 40.7128, "longitude": -74.006}}
    )
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE = str(path)
    geo._geoip_reader.cache_clear()
    yield path
    geo._geoip_reader.cache_clear()


def billed(country: str) -> dict:
    return {**card_data(), "billing_details": {"address": {"country": country}}}


@pytest.mark.django_db
def test_the_customers_ip_is_located_with_the_geoip_database(api_client, geoip_database):
    paris = create_payment(api_client, client_ip="203.0.113.10")
    new_york = create_payment(api_client, client_ip="198.51.100.10")

    assert paris.json()["status"] == "COMPLETED"
    assert new_york.json()["status"] == "REQUIRES_ACTION"  # the runbook's 1000 km in 1 h
    located = FraudObservation.objects.order_by("id").values_list("latitude", flat=True)
    assert list(located) == [48.8566, 40.7128]


@pytest.mark.django_db
def test_client_location_wins_over_the_geoip_database(api_client, geoip_database):
    create_payment(api_client, client_ip="203.0.113.10")

    near = create_payment(
        api_client, client_ip="198.51.100.10", client_location={"latitude": 48.9, "longitude": 2.4}
    )

    assert near.json()["status"] == "COMPLETED"


@pytest.mark.django_db
def test_without_location_or_geoip_the_billing_country_is_used(api_client):
    france = api_client.post(
        "/api/v1/payments",
        {"amount": 1050, "currency": "usd", "payment_method_data": billed("fr")},
        format="json",
    )
    united_states = api_client.post(
        "/api/v1/payments",
        {"amount": 1050, "currency": "usd", "payment_method_data": billed("US")},
        format="json",
    )

    assert france.json()["status"] == "COMPLETED"
    assert united_states.json()["status"] == "REQUIRES_ACTION"


@pytest.mark.django_db
def test_a_malformed_billing_country_is_a_400(api_client):
    response = api_client.post(
        "/api/v1/payments",
        {"amount": 1050, "currency": "usd", "payment_method_data": billed("France")},
        format="json",
    )

    assert response.status_code == 400
    assert (
        response.json()["error"]["param"]
        == "payment_method_data[billing_details][address][country]"
    )
    assert not Payment.objects.exists()
