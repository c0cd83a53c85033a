from payments.models import Customer, Payment, PaymentMethod
from payments.vault import card_fingerprint
from tests.conftest import PAYMENTS_URL, card_data
from tests.payments.factories import CustomerFactory

CUSTOMERS_URL = "/api/v1/customers"
CARD_KEYS = {"brand", "last4", "exp_month", "exp_year", "fingerprint"}
PAYMENT_METHOD_KEYS = {"id", "object", "type", "customer", "card", "created"}


def create_customer(client, **fields):
    response = client.post(CUSTOMERS_URL, fields, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _leaf_values(value) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaf_values(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaf_values(item)]
    return [str(value)]


def save_card(client, customer_id, number="4242424242424242"):
    return client.post(
        f"{CUSTOMERS_URL}/{customer_id}/payment-methods",
        card_data(number, cvc="321"),
        format="json",
    )


def test_create_customer(api_client, merchant):
    body = create_customer(
        api_client, email="ada@example.com", name="Ada", metadata={"tier": "gold"}
    )

    assert body["id"].startswith("cus_")
    assert (body["object"], body["email"], body["name"]) == ("customer", "ada@example.com", "Ada")
    assert body["metadata"] == {"tier": "gold"}
    assert Customer.objects.get(pk=body["id"]).merchant == merchant


def test_list_and_retrieve_customers(api_client):
    first = create_customer(api_client, email="one@example.com")
    second = create_customer(api_client, email="two@example.com")

    listed = api_client.get(CUSTOMERS_URL).json()
    retrieved = api_client.get(f"{CUSTOMERS_URL}/{first['id']}").json()

    assert listed["object"] == "list"
    assert [customer["id"] for customer in listed["data"]] == [second["id"], first["id"]]
    assert retrieved == first


def test_customer_list_filters_by_email_case_insensitively(api_client):
    ada = create_customer(api_client, email="ada@example.com")
    create_customer(api_client, email="bob@example.com")

    listed = api_client.get(CUSTOMERS_URL, {"email": "ADA@example.com"}).json()

    assert [customer["id"] for customer in listed["data"]] == [ada["id"]]


def test_other_merchants_customer_is_404(api_client, other_merchant):
    theirs = CustomerFactory(merchant=other_merchant)

    assert api_client.get(f"{CUSTOMERS_URL}/{theirs.id}").status_code == 404
    assert save_card(api_client, theirs.id).status_code == 404
    assert not PaymentMethod.objects.exists()


def test_saved_card_shows_only_brand_last4_expiry_and_fingerprint(api_client):
    customer = create_customer(api_client)

    created = save_card(api_client, customer["id"])
    listed = api_client.get(f"{CUSTOMERS_URL}/{customer['id']}/payment-methods").json()

    assert created.status_code == 201
    (method,) = listed["data"]
    assert method == created.json()
    assert set(method) == PAYMENT_METHOD_KEYS
    assert set(method["card"]) == CARD_KEYS
    assert method["card"] == {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "fingerprint": card_fingerprint("4242424242424242"),
    }
    assert method["customer"] == customer["id"]
    assert "4242424242424242" not in created.content.decode() + str(listed)
    # The CVC is no value of it (as a substring it could turn up in a hex fingerprint or an id).
    assert "321" not in _leaf_values(method)


def test_pay_with_a_saved_payment_method(api_client, gateway_calls):
    customer = create_customer(api_client)
    method = save_card(api_client, customer["id"]).json()

    response = api_client.post(
        PAYMENTS_URL,
        {
            "amount": 1500,
            "currency": "usd",
            "payment_method": method["id"],
            "customer": customer["id"],
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["customer"]) == ("COMPLETED", customer["id"])
    assert body["payment_method"]["id"] == method["id"]
    assert Payment.objects.get(pk=body["id"]).payment_method_id == method["id"]
    assert gateway_calls.counts["authorize"] == 1
    assert PaymentMethod.objects.count() == 1


def test_saved_method_payment_defaults_to_the_methods_customer(api_client):
    customer = create_customer(api_client)
    method = save_card(api_client, customer["id"]).json()

    body = api_client.post(
        PAYMENTS_URL,
        {"amount": 100, "currency": "usd", "payment_method": method["id"]},
        format="json",
    ).json()

    assert body["customer"] == customer["id"]


def test_saved_declining_card_fails_the_payment(api_client):
    customer = create_customer(api_client)
    method = save_card(api_client, customer["id"], number="4000000000009995").json()

    response = api_client.post(
        PAYMENTS_URL,
        {"amount": 100, "currency": "usd", "payment_method": method["id"]},
        format="json",
    )

    assert response.status_code == 402
    assert response.json()["error"]["decline_code"] == "insufficient_funds"


def test_payment_method_of_another_customer_is_refused(api_client):
    owner = create_customer(api_client)
    stranger = create_customer(api_client)
    method = save_card(api_client, owner["id"]).json()

    response = api_client.post(
        PAYMENTS_URL,
        {
            "amount": 100,
            "currency": "usd",
            "payment_method": method["id"],
            "customer": stranger["id"],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "payment_method"
    assert not Payment.objects.exists()


def test_payment_method_of_another_merchant_is_404(api_client, other_api_client):
    theirs = create_customer(other_api_client)
    method = save_card(other_api_client, theirs["id"]).json()

    response = api_client.post(
        PAYMENTS_URL,
        {"amount": 100, "currency": "usd", "payment_method": method["id"]},
        format="json",
    )

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "payment_method"
    assert not Payment.objects.exists()


def test_same_card_saved_twice_has_the_same_fingerprint(api_client):
    first = create_customer(api_client)
    second = create_customer(api_client)

    one = save_card(api_client, first["id"]).json()
    two = save_card(api_client, second["id"]).json()
    other = save_card(api_client, second["id"], number="5555555555554444").json()

    assert one["card"]["fingerprint"] == two["card"]["fingerprint"]
    assert other["card"]["fingerprint"] != one["card"]["fingerprint"]
    assert other["card"]["brand"] == "mastercard"
