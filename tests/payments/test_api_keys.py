import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog, SecurityEvent
from payments.errors import InvalidRequest
from payments.models import ApiKey, ApiKeyScope, Payment
from payments.services.api_keys import (
    api_key_hash,
    api_key_issue,
    api_key_revoke,
    api_key_rotate,
)
from tests.conftest import PAYMENTS_URL, client_for, create_payment


def assert_auth_error(response, status, code, error_type="authentication_error"):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert (error["type"], error["code"]) == (error_type, code)


def test_request_without_authorization_is_401_authentication_required(client, db):
    response = client.get(PAYMENTS_URL)

    assert_auth_error(response, 401, "authentication_required")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_key_is_401_api_key_invalid(db):
    response = client_for("sk_test_" + "x" * 32).get(PAYMENTS_URL)

    assert_auth_error(response, 401, "api_key_invalid")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "sk_test_abc", "Bearer " + "x" * 500]
)
def test_malformed_authorization_header_is_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get(PAYMENTS_URL).status_code == 401


def test_failed_authentication_is_recorded_as_a_security_event(db):
    client_for("sk_test_" + "y" * 32).get(PAYMENTS_URL, REMOTE_ADDR="203.0.113.9")

    event = SecurityEvent.objects.get(event_type="auth.api_key_failed")
    assert event.details["reason"] == "api_key_invalid"
    assert event.ip_address == "203.0.113.9"


def test_revoked_key_is_401(api_key, api_client):
    assert api_client.get(PAYMENTS_URL).status_code == 200

    api_key_revoke(api_key=api_key.api_key, reason="leaked")

    assert_auth_error(api_client.get(PAYMENTS_URL), 401, "api_key_invalid")
    assert create_payment(api_client).status_code == 401
    assert not Payment.objects.exists()


def test_expired_key_is_401_api_key_expired(merchant):
    issued = api_key_issue(
        merchant=merchant,
        scopes=["payment:read"],
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )

    assert_auth_error(client_for(issued.secret).get(PAYMENTS_URL), 401, "api_key_expired")


def test_key_of_a_deactivated_merchant_is_401(merchant, api_client):
    merchant.is_active = False
    merchant.save(update_fields=["is_active"])

    assert_auth_error(api_client.get(PAYMENTS_URL), 401, "api_key_invalid")


def test_key_without_the_required_scope_is_403_insufficient_scope(merchant):
    read_only = client_for(api_key_issue(merchant=merchant, scopes=["payment:read"]).secret)

    response = create_payment(read_only)

    assert_auth_error(response, 403, "insufficient_scope", error_type="permission_error")
    assert not Payment.objects.exists()
    assert read_only.get(PAYMENTS_URL).status_code == 200


def test_customer_endpoints_need_customer_scopes(merchant):
    payments_only = client_for(
        api_key_issue(merchant=merchant, scopes=["payment:create", "payment:read"]).secret
    )

    assert payments_only.get("/api/v1/customers").status_code == 403
    assert payments_only.post("/api/v1/customers", {}, format="json").status_code == 403


def test_only_the_hash_of_a_secret_is_stored(merchant):
    issued = api_key_issue(merchant=merchant, scopes=["payment:read"])

    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.secret.startswith("sk_test_")
    assert stored.key_hash == api_key_hash(issued.secret)
    assert issued.secret not in str(ApiKey.objects.filter(pk=stored.pk).values().get())
    assert stored.masked.startswith("sk_test_") and stored.masked.endswith(issued.secret[-4:])


def test_live_keys_are_marked_live_and_make_livemode_payments(merchant):
    issued = api_key_issue(merchant=merchant, scopes=["payment:create"], mode="live")

    response = create_payment(client_for(issued.secret))

    assert issued.secret.startswith("sk_live_")
    assert response.json()["livemode"] is True


@pytest.mark.parametrize("scopes", [[], ["payment:everything"]])
def test_issuing_a_key_with_unknown_or_no_scopes_is_refused(merchant, scopes):
    with pytest.raises(InvalidRequest):
        api_key_issue(merchant=merchant, scopes=scopes)

    assert not ApiKey.objects.exists()


def test_successful_use_records_last_used_at(api_key, api_client):
    assert ApiKey.objects.get(pk=api_key.api_key.pk).last_used_at is None

    api_client.get(PAYMENTS_URL)

    assert ApiKey.objects.get(pk=api_key.api_key.pk).last_used_at is not None


def test_rotated_key_keeps_working_during_grace_and_the_new_key_works(api_key, api_client):
    issued = api_key_rotate(api_key=api_key.api_key, grace=dt.timedelta(hours=1))

    old = ApiKey.objects.get(pk=api_key.api_key.pk)
    assert old.replaced_by_id == issued.api_key.id
    assert sorted(issued.api_key.scopes) == sorted(ApiKeyScope.values)
    assert api_client.get(PAYMENTS_URL).status_code == 200
    assert client_for(issued.secret).get(PAYMENTS_URL).status_code == 200

    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert_auth_error(api_client.get(PAYMENTS_URL), 401, "api_key_expired")
    assert client_for(issued.secret).get(PAYMENTS_URL).status_code == 200


def test_a_rotated_or_revoked_key_cannot_be_rotated_again(api_key):
    api_key_rotate(api_key=api_key.api_key, grace=dt.timedelta(hours=1))

    with pytest.raises(InvalidRequest):
        api_key_rotate(api_key=api_key.api_key, grace=dt.timedelta(hours=1))


def test_issue_revoke_and_rotate_are_audited_without_the_secret(merchant):
    issued = api_key_issue(merchant=merchant, scopes=["payment:read"])
    rotated = api_key_rotate(api_key=issued.api_key, grace=dt.timedelta(hours=1))
    api_key_revoke(api_key=rotated.api_key, reason="leaked")

    rows = AuditLog.objects.filter(resource_type="api_key").order_by("timestamp")
    actions = [(row.action, row.resource_id) for row in rows]
    assert ("api_key.created", issued.api_key.id) in actions
    assert ("api_key.rotated", issued.api_key.id) in actions
    assert ("api_key.revoked", rotated.api_key.id) in actions
    revoked = rows.get(action="api_key.revoked")
    assert revoked.old_value["revoked_at"] is None
    assert revoked.new_value["revoked_at"] is not None
    assert revoked.new_value["reason"] == "leaked"
    for row in rows:
        for secret in (issued.secret, rotated.secret):
            assert secret not in str(row.old_value) + str(row.new_value)
