"""Operator screens for running the money machinery: gateway accounts and routing rules,
circuit breakers, recovery's flagged operations, and reconciliation runs and exceptions.
Every change goes through a service (audited there); credentials are write-only."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.admin import ReadOnlyAdmin
from audit.scoping import GlobalDataAdmin, MerchantScopedAdmin
from payments.admin_actions import ReasonForm, confirm_then_apply
from payments.gateways import CREDENTIAL_FIELDS
from payments.models import (
    BreakerOverride,
    GatewayAccount,
    GatewayBreaker,
    ReconciliationException,
    ReconciliationRun,
    RecoveryCheck,
)
from payments.services.breakers import breaker_override, breaker_view
from payments.services.gateway_accounts import (
    ROUTING_FIELDS,
    gateway_account_save,
    gateway_account_snapshot,
)
from payments.services.reconciliation import reconciliation_exception_resolve

CONFIGURE = "payments.configure_gateways"
_SECRET_FIELDS = sorted({name for names in CREDENTIAL_FIELDS.values() for name in names})


class GatewayAccountForm(forms.ModelForm):
    """The account's settings plus its credentials, which are never shown: leave them empty
    to keep the stored ones."""

    api_base = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Override the provider's API address (testing); empty: the provider's own.",
    )

    class Meta:
        model = GatewayAccount
        fields = ["merchant", "gateway", "livemode", *ROUTING_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in _SECRET_FIELDS:
            self.fields[name] = forms.CharField(
                required=False,
                widget=forms.PasswordInput(render_value=False),
                help_text="Write-only. Leave empty to keep the stored value.",
            )

    def credentials(self) -> dict[str, str] | None:
        wanted = CREDENTIAL_FIELDS[self.cleaned_data.get("gateway") or self.instance.gateway]
        given = {name: self.cleaned_data.get(name, "") for name in wanted}
        return given if any(given.values()) else None


@admin.register(GatewayAccount)
class GatewayAccountAdmin(MerchantScopedAdmin, admin.ModelAdmin):
    form = GatewayAccountForm
    list_display = ["merchant", "gateway", "livemode", "enabled", "priority", "rules", "updated_at"]
    list_filter = ["gateway", "livemode", "enabled"]
    search_fields = ["=merchant__slug", "=merchant__id"]
    readonly_fields = ["credentials_set"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        identity = ["merchant", "gateway", "livemode"] if obj else []
        return [*identity, "credentials_set"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        account = gateway_account_save(
            merchant=obj.merchant,
            gateway=obj.gateway,
            livemode=obj.livemode,
            credentials=form.credentials(),
            **{name: getattr(obj, name) for name in ROUTING_FIELDS},
        )
        obj.pk, obj.id = account.pk, account.id

    @admin.display(description="Credentials set")
    def credentials_set(self, account: GatewayAccount) -> str:
        names = gateway_account_snapshot(account)["credentials_set"] if account.pk else []
        return ", ".join(names) or "none"

    @admin.display(description="Rules")
    def rules(self, account: GatewayAccount) -> str:
        parts = [
            f"currencies {','.join(account.currencies)}" if account.currencies else "",
            f"≥ {account.min_amount}" if account.min_amount is not None else "",
            f"≤ {account.max_amount}" if account.max_amount is not None else "",
            f"brands {','.join(account.card_brands)}" if account.card_brands else "",
            f"issuers {','.join(account.card_countries)}" if account.card_countries else "",
        ]
        return "; ".join(part for part in parts if part) or "any payment"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CONFIGURE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(CONFIGURE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable an account instead: payments and refunds still point at it


def _override_action(override: str, description: str) -> Any:
    @admin.action(description=description, permissions=["configure"])
    def act(modeladmin: Any, request: HttpRequest, queryset: QuerySet[GatewayBreaker]) -> Any:
        return confirm_then_apply(
            request,
            queryset,
            form_class=ReasonForm,
            action=f"breaker_{override or 'rules'}",
            verb=description.lower(),
            apply=lambda breaker, data: breaker_override(
                breaker.gateway, override, reason=data["reason"]
            ),
        )

    act.__name__ = f"breaker_{override or 'rules'}"
    return act


@admin.register(GatewayBreaker)
class GatewayBreakerAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = ["gateway", "effective_state", "state", "override", "reason", "updated_at"]
    actions = [
        _override_action(BreakerOverride.FORCED_OPEN, "Force open (stop traffic)"),
        _override_action(BreakerOverride.FORCED_CLOSED, "Force closed (ignore errors)"),
        _override_action(BreakerOverride.NONE, "Give back to the rules"),
    ]

    @admin.display(description="Callers see")
    def effective_state(self, breaker: GatewayBreaker) -> str:
        return breaker_view(breaker.gateway).effective(timezone.now())

    def has_configure_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CONFIGURE)


class FlaggedFilter(admin.SimpleListFilter):
    title = "needs an operator"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Flagged, unresolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(flagged_at__isnull=False, resolved_at__isnull=True)
        return queryset


@admin.register(RecoveryCheck)
class RecoveryCheckAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = [
        "resource_type",
        "resource_id",
        "operation",
        "gateway",
        "stuck_since",
        "attempts",
        "next_attempt_at",
        "resolution",
        "flagged_at",
        "last_error",
    ]
    list_filter = [FlaggedFilter, "resource_type", "gateway", "resolution"]
    search_fields = ["=resource_id", "=idempotency_key"]


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        min_length=5,
        max_length=1000,
        help_text="What you found or did. Recorded in the audit trail.",
    )


@admin.action(description="Resolve with a note", permissions=["resolve"])
def resolve_exceptions(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[ReconciliationException]
) -> Any:
    return confirm_then_apply(
        request,
        queryset,
        form_class=ResolveForm,
        action="resolve_exceptions",
        verb="resolved",
        apply=lambda item, data: reconciliation_exception_resolve(
            exception_id=item.id, note=data["note"], operator=request.user.get_username()
        ),
        label=lambda item: f"{item.kind} {item.reference}",
    )


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Open"), ("no", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "yes")
        return queryset


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    merchant_field = "payment__merchant_id"
    list_display = [
        "created_at",
        "kind",
        "record_kind",
        "reference",
        "ledger_amount",
        "gateway_amount",
        "ledger_currency",
        "gateway_currency",
        "payment",
        "resolved_by",
        "resolution_note",
    ]
    list_filter = [OpenFilter, "kind", "run__gateway"]
    search_fields = ["=reference", "=payment__id"]
    actions = [resolve_exceptions]

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.resolve_reconciliation")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = [
        "day",
        "gateway",
        "merchant",
        "livemode",
        "matched",
        "exceptions",
        "gateway_records",
        "ledger_records",
        "error",
        "finished_at",
    ]
    list_filter = ["gateway", "livemode"]
    date_hierarchy = "day"
