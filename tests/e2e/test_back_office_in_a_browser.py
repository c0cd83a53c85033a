"""The back office in a real browser (Debian's chromium, driven by Playwright) against a live
server: an operator signs in with the TOTP code, sees the dashboard, finds a payment, refunds
part of it with a reason, and finds the refund in the payment's timeline and the audit log.

Database work happens before and after the browser runs: Playwright's sync API keeps an event
loop in this thread, in which Django refuses ORM calls."""

from pathlib import Path

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect, sync_playwright

from compliance.operators import operator_create
from payments.models import Refund
from tests.conftest import create_payment

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots of the main screens, kept as test artifacts (not committed).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
    ),
]
PASSWORD = "browser-pass-2024"


def sign_in(page, base_url: str, username: str, key: bytes) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", str(totp(key)).zfill(6))
    page.click("input[type=submit]")


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def test_an_operator_signs_in_with_totp_and_refunds_part_of_a_payment(live_server, api_client):
    payment_id = create_payment(api_client, amount=1000).json()["id"]
    operator = operator_create(
        username="browser-op", email="op@example.com", role="payment-operator", password=PASSWORD
    )
    device = operator.user.totpdevice_set.get()
    key = device.bin_key

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        sign_in(page, live_server.url, "browser-op", key)
        expect(page.locator("#dashboard")).to_contain_text("Success rate")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

        page.goto(f"{live_server.url}/admin/payments/payment/?q={payment_id}")
        page.screenshot(path=ARTIFACTS / "payments.png", full_page=True)
        page.check(f"input[name=_selected_action][value={payment_id}]")
        page.select_option("select[name=action]", "refund_payments")
        page.click("button[name=index]")
        page.fill("input[name=amount]", "2.50")
        page.select_option("select[name=reason]", "requested_by_customer")
        page.fill("textarea[name=note]", "Scratched box")
        page.click("input[name=apply]")
        expect(page.locator(".messagelist")).to_contain_text("Refunded: 1")

        page.goto(f"{live_server.url}/admin/payments/payment/{payment_id}/change/")
        timeline = page.locator("table", has_text="when (UTC)")
        expect(timeline).to_contain_text("2.50 USD requested_by_customer: COMPLETED")
        expect(timeline).to_contain_text("refund.created (success)")
        page.screenshot(path=ARTIFACTS / "payment-detail.png", full_page=True)

        page.goto(f"{live_server.url}/admin/audit/auditlog/?action__exact=refund.created")
        expect(page.locator("#result_list")).to_contain_text("refund.created")
        browser.close()

    assert all(
        (ARTIFACTS / name).stat().st_size > 0 for name in ("dashboard.png", "payment-detail.png")
    )
    refund = Refund.objects.get(payment_id=payment_id)
    assert (refund.amount, refund.created_by, refund.note) == (250, "browser-op", "Scratched box")


def test_a_viewer_is_offered_no_refund_and_is_refused_configuration(live_server, api_client):
    payment_id = create_payment(api_client).json()["id"]
    viewer = operator_create(
        username="browser-viewer", email="v@example.com", role="payment-viewer", password=PASSWORD
    )
    key = viewer.user.totpdevice_set.get().bin_key

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        sign_in(page, live_server.url, "browser-viewer", key)
        expect(page.locator("#dashboard")).to_contain_text("Success rate")

        page.goto(f"{live_server.url}/admin/payments/payment/?q={payment_id}")
        expect(page.locator("#result_list")).to_contain_text(payment_id)
        offered = page.locator("select[name=action] option").all_inner_texts()
        refused = page.goto(f"{live_server.url}/admin/payments/gatewayaccount/add/")
        browser.close()

    assert not any("Refund" in option for option in offered), offered
    assert refused.status == 403
    assert not Refund.objects.exists()
