"""The back office lists IP blocks and fraud data read-only; lifting a block is an audited
action of an operator allowed to change IP blocks."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.context import acting_as, cli_context
from audit.models import AuditLog
from fraud.ip_blocks import ip_block_create, ip_is_blocked
from fraud.models import IpBlock
from tests.conftest import operator_login
from tests.fraud.threats import ATTACKER_IP, OTHER_IP

CHANGELIST = "/admin/fraud/ipblock/"


@pytest.fixture
def blocks(db) -> dict[str, IpBlock]:
    with acting_as(cli_context()):
        attacker, _ = ip_block_create(ip_address=ATTACKER_IP, reason="card testing")
        other, _ = ip_block_create(ip_address=OTHER_IP, reason="scraping")
    return {"attacker": attacker, "other": other}


def test_ip_blocks_are_listed_with_filters_and_search(admin_client, blocks):
    listing = admin_client.get(CHANGELIST)

    assert listing.status_code == 200
    assert ATTACKER_IP.encode() in listing.content and OTHER_IP.encode() in listing.content
    assert b"card testing" in listing.content
    assert b"Add ip block" not in listing.content  # read-only

    searched = admin_client.get(CHANGELIST, {"q": "203.0.113"})
    assert ATTACKER_IP.encode() in searched.content and OTHER_IP.encode() not in searched.content
    assert admin_client.get(CHANGELIST, {"source": "operator"}).status_code == 200
    assert admin_client.get(CHANGELIST, {"active": "no"}).context["cl"].result_count == 0
    assert admin_client.get(CHANGELIST, {"active": "yes"}).context["cl"].result_count == 2


def test_lift_action_lifts_the_block_as_the_operator_and_is_audited(
    admin_client, admin_user, blocks
):
    assert ip_is_blocked(ATTACKER_IP)

    response = admin_client.post(
        CHANGELIST,
        {"action": "lift_blocks", "_selected_action": [blocks["attacker"].pk]},
        REMOTE_ADDR="192.0.2.10",
        HTTP_USER_AGENT="Firefox",
        follow=True,
    )

    assert response.status_code == 200
    assert f"Lifted 1 block(s) of {ATTACKER_IP}" in response.content.decode()
    assert not ip_is_blocked(ATTACKER_IP)
    assert ip_is_blocked(OTHER_IP)
    lifted = IpBlock.objects.get(pk=blocks["attacker"].pk)
    assert lifted.lifted_by == f"user:{admin_user.pk}"
    audit = AuditLog.objects.get(action="ip_block.lifted")
    assert (audit.user_id, audit.actor_type) == (f"user:{admin_user.pk}", "user")
    assert (str(audit.ip_address), audit.user_agent) == ("192.0.2.10", "Firefox")
    assert audit.resource_id == str(lifted.pk)
    assert admin_client.get(CHANGELIST, {"active": "no"}).context["cl"].result_count == 1


def test_lifting_a_block_that_is_no_longer_in_force_changes_nothing(admin_client, blocks):
    admin_client.post(
        CHANGELIST, {"action": "lift_blocks", "_selected_action": [blocks["attacker"].pk]}
    )

    response = admin_client.post(
        CHANGELIST,
        {"action": "lift_blocks", "_selected_action": [blocks["attacker"].pk]},
        follow=True,
    )

    assert "nothing lifted" in response.content.decode()
    assert AuditLog.objects.filter(action="ip_block.lifted").count() == 1


def test_staff_who_may_only_view_ip_blocks_are_not_offered_the_lift_action(blocks):
    viewer = User.objects.create_user("viewer", password="x" * 16, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_ipblock"))
    client = Client()
    operator_login(client, viewer)

    listing = client.get(CHANGELIST)

    assert listing.status_code == 200
    assert b"lift_blocks" not in listing.content


@pytest.mark.parametrize("model", ["fraudrule", "fraudcheck", "blocklistentry"])
def test_fraud_data_is_listed_read_only(admin_client, model):
    listing = admin_client.get(f"/admin/fraud/{model}/")

    assert listing.status_code == 200
    assert admin_client.get(f"/admin/fraud/{model}/add/").status_code == 403
