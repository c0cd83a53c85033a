"""The runbook's RBAC: roles are Django groups, each runbook permission (`payment:read`, …)
a set of real Django permissions that views, admin actions and exports check.

`roles_sync()` makes the groups hold exactly these permissions; it runs after every
`migrate` (post_migrate) and as `manage.py sync_roles`. New models' view permissions join
`payment:read` by themselves (every `view_*` of the payment apps).
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

# Runbook permission → Django permissions ("app_label.codename"; "app_label.view_*" = every
# view permission of that app).
SCOPES: dict[str, tuple[str, ...]] = {
    "payment:read": ("payments.view_*", "fraud.view_*", "webhooks.view_*"),
    "payment:write": (
        "payments.review_payment",
        "payments.approve_refund",
        "payments.approve_status_fix",
        "payments.operate_payment",
        "payments.resolve_reconciliation",
        "webhooks.change_webhooklog",
        "webhooks.replay_webhookdelivery",
    ),
    "payment:refund": ("payments.refund_payment",),
    "payment:configure": (
        "payments.configure_gateways",
        "payments.manage_api_keys",
        "fraud.change_fraudrule",
        "fraud.change_ipblock",
        "webhooks.disable_webhookendpoint",
    ),
    "audit:read": ("audit.view_auditlog", "audit.view_securityevent"),
    "compliance:export": ("compliance.export_compliance", "compliance.view_complianceexport"),
}

ROLES: dict[str, tuple[str, ...]] = {
    "payment-admin": (
        "payment:read",
        "payment:write",
        "payment:refund",
        "payment:configure",
        "audit:read",
    ),
    "payment-operator": ("payment:read", "payment:refund", "audit:read"),
    "payment-viewer": ("payment:read", "audit:read"),
    "auditor": ("payment:read", "audit:read", "compliance:export"),
}


def scope_permissions(scope: str) -> list[Permission]:
    wanted = Q(pk__in=[])
    for name in SCOPES[scope]:
        app_label, codename = name.split(".")
        if codename.endswith("*"):
            wanted |= Q(content_type__app_label=app_label, codename__startswith=codename[:-1])
        else:
            wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def roles_sync() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    counts = {}
    with transaction.atomic():
        for role, scopes in ROLES.items():
            group, _ = Group.objects.get_or_create(name=role)
            permissions = {p for scope in scopes for p in scope_permissions(scope)}
            group.permissions.set(permissions)
            counts[role] = len(permissions)
    return counts
