"""The one way to write the audit trail and security events."""

from typing import Any

from audit.context import RequestContext, current_context
from audit.models import AuditLog, AuditResult, SecurityEvent
from config.db.build import build


def audit_entry(
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    result: str = AuditResult.SUCCESS,
    context: RequestContext | None = None,
) -> AuditLog:
    """Build (not save) one audit row, for a caller that writes it in the same statement as
    its change (`config.db.statements`)."""
    context = context or current_context()
    return build(
        AuditLog,
        user_id=context.actor_id,
        actor_type=context.actor_type,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        old_value=old,
        new_value=new,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        result=result,
        request_id=context.request_id,
    )


def audit_record(
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    result: str = AuditResult.SUCCESS,
    context: RequestContext | None = None,
) -> AuditLog:
    """Append one audit row. Call it inside the transaction that makes the change, so the
    change and its record commit (or roll back) together."""
    row = audit_entry(
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        old=old,
        new=new,
        result=result,
        context=context,
    )
    row.save(force_insert=True)
    return row


def security_event_record(
    *, event_type: str, details: dict[str, Any] | None = None, context: RequestContext | None = None
) -> SecurityEvent:
    context = context or current_context()
    return SecurityEvent.objects.create(
        event_type=event_type,
        user_id=context.actor_id if context.actor_type != "system" else "",
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        details=details or {},
    )
