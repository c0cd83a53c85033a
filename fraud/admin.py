"""Back-office screens of fraud and threat detection: read-only lists; state changes (lifting
an IP block; enabling, disabling and editing a fraud rule) are actions and views that call
the services (and so are audited)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from audit.admin import ReadOnlyAdmin
from audit.scoping import GlobalDataAdmin, MerchantScopedAdmin
from fraud.admin_rules import CHANGE_PERMISSION, DryRunForm, RuleEditForm
from fraud.dry_run import DEFAULT_DAYS, DryRunResult, rule_dry_run
from fraud.ip_blocks import active_block_q, ip_block_is_active, ip_block_lift
from fraud.models import BlocklistEntry, FraudCheck, FraudRule, IpBlock
from fraud.rules import RuleError, RuleSpec
from fraud.services import RuleChangedMeanwhile, rule_edit_apply, rule_spec, rules_set_enabled


class ActiveBlockFilter(admin.SimpleListFilter):
    title = "active"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "In force"), ("no", "Expired or lifted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IpBlock]) -> QuerySet[IpBlock]:
        if self.value() == "yes":
            return queryset.filter(active_block_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(active_block_q(timezone.now()))
        return queryset


@admin.register(IpBlock)
class IpBlockAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = [
        "ip_address",
        "active",
        "source",
        "reason",
        "created_by",
        "created_at",
        "blocked_until",
        "lifted_at",
        "lifted_by",
    ]
    list_filter = [ActiveBlockFilter, "source"]
    search_fields = ["ip_address"]
    date_hierarchy = "created_at"
    actions = ["lift_blocks"]

    @admin.display(boolean=True, description="active")
    def active(self, block: IpBlock) -> bool:
        return ip_block_is_active(block)

    @admin.action(description="Lift block (let the IP in again)", permissions=["lift"])
    def lift_blocks(self, request: HttpRequest, queryset: QuerySet[IpBlock]) -> None:
        """Lifting is per address: every active block of a selected IP ends, otherwise the
        address would stay blocked by another row and the action would look broken."""
        addresses = sorted(
            {str(block.ip_address) for block in queryset if ip_block_is_active(block)}
        )
        if not addresses:
            self.message_user(
                request,
                "None of the selected blocks is in force; nothing lifted.",
                messages.WARNING,
            )
            return
        # The operator is the audit actor (audit.middleware.OperatorActorMiddleware).
        lifted = [
            block
            for address in addresses
            for block in ip_block_lift(ip_address=address, reason="lifted in the back office")
        ]
        self.message_user(
            request, f"Lifted {len(lifted)} block(s) of {', '.join(addresses)}.", messages.SUCCESS
        )

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fraud.change_ipblock")


@admin.register(FraudRule)
class FraudRuleAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "condition",
        "action",
        "priority",
        "enabled",
        "version",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["kind", "action", "enabled"]
    search_fields = ["name"]
    actions = ["enable_rules", "disable_rules"]

    def has_change_rules_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_PERMISSION)

    @admin.action(description="Enable selected rules", permissions=["change_rules"])
    def enable_rules(self, request: HttpRequest, queryset: QuerySet[FraudRule]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected rules", permissions=["change_rules"])
    def disable_rules(self, request: HttpRequest, queryset: QuerySet[FraudRule]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(
        self, request: HttpRequest, queryset: QuerySet[FraudRule], *, enabled: bool
    ) -> None:
        try:
            changes = rules_set_enabled(
                rule_ids=list(queryset.values_list("pk", flat=True)), enabled=enabled
            )
        except RuleError as exc:  # a stored rule that no longer validates: edit it first
            self.message_user(request, f"Nothing changed: {exc}.", messages.ERROR)
            return
        state = "enabled" if enabled else "disabled"
        changed = [change.name for change in changes if change.change != "unchanged"]
        unchanged = [change.name for change in changes if change.change == "unchanged"]
        if changed:
            self.message_user(
                request, f"Now {state} (new versions): {', '.join(changed)}.", messages.SUCCESS
            )
        if unchanged:
            self.message_user(
                request, f"Already {state}, unchanged: {', '.join(unchanged)}.", messages.WARNING
            )

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/edit-rule/",
                self.admin_site.admin_view(self.edit_rule_view),
                name=f"{name}_edit_rule",
            ),
            path(
                "<path:object_id>/dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name=f"{name}_dry_run",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "has_change_rules_permission": self.has_change_rules_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def edit_rule_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Edit a rule's condition (or kind + parameters), action, priority and enabled; the
        Dry run button replays the edited rule without saving it."""
        rule = self._rule(request, object_id)
        if not self.has_change_rules_permission(request):
            raise PermissionDenied
        posted = request.POST if request.method == "POST" else None
        form = RuleEditForm(posted, rule=rule)
        dry_run_form = DryRunForm(posted)
        dry_run, dry_run_error = None, ""
        if posted is not None and form.is_valid():
            spec = form.cleaned_data["spec"]
            if "_dry_run" in posted:
                dry_run, dry_run_error = self._dry_run(spec, dry_run_form)
            else:
                try:
                    change = rule_edit_apply(
                        spec=spec, rule_id=rule.pk, expected_version=form.cleaned_data["version"]
                    )
                except (RuleChangedMeanwhile, RuleError) as exc:
                    form.add_error(None, str(exc))
                else:
                    saved = FraudRule.objects.get(pk=rule.pk)
                    if change.change == "unchanged":
                        self.message_user(request, f"{rule.name}: nothing changed.")
                    else:
                        self.message_user(
                            request,
                            f"Saved {rule.name} as version {saved.version}.",
                            messages.SUCCESS,
                        )
                    return HttpResponseRedirect(self._url("change", rule))
        return TemplateResponse(
            request,
            "admin/fraud/rule_edit.html",
            {
                **self._context(request, rule, step="Edit rule"),
                "form": form,
                "dry_run_form": dry_run_form,
                "dry_run": dry_run,
                "dry_run_error": dry_run_error,
            },
        )

    def dry_run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the saved rule would have fired on over the last N days (as if enabled)."""
        rule = self._rule(request, object_id)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        form = DryRunForm(request.GET if "days" in request.GET else {"days": DEFAULT_DAYS})
        dry_run, dry_run_error = self._dry_run(rule_spec(rule), form)
        return TemplateResponse(
            request,
            "admin/fraud/rule_dry_run.html",
            {
                **self._context(request, rule, step="Dry run"),
                "dry_run_form": form,
                "dry_run": dry_run,
                "dry_run_error": dry_run_error,
                "has_change_rules_permission": self.has_change_rules_permission(request),
            },
        )

    @staticmethod
    def _dry_run(spec: RuleSpec, form: DryRunForm) -> tuple[DryRunResult | None, str]:
        if not form.is_valid():
            return None, ""  # the form shows why
        try:
            return rule_dry_run(spec, days=form.cleaned_data["days"]), ""
        except RuleError as exc:
            return None, f"No dry run: {exc}."

    def _rule(self, request: HttpRequest, object_id: str) -> FraudRule:
        rule = self.get_object(request, unquote(object_id))
        if rule is None:
            raise Http404(f"No fraud rule {object_id}")
        return rule

    def _url(self, view: str, rule: FraudRule) -> str:
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}",
            args=[rule.pk],
        )

    def _context(self, request: HttpRequest, rule: FraudRule, *, step: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": f"{step}: {rule.name}",
            "step": step,
            "opts": self.opts,
            "original": rule,
            "change_url": self._url("change", rule),
            "edit_url": self._url("edit_rule", rule),
            "dry_run_url": self._url("dry_run", rule),
        }


@admin.register(FraudCheck)
class FraudCheckAdmin(MerchantScopedAdmin, ReadOnlyAdmin):
    list_display = ["created_at", "payment_id", "merchant_id", "decision", "score"]
    list_filter = ["decision"]
    search_fields = ["payment_id", "merchant_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(GlobalDataAdmin, ReadOnlyAdmin):
    list_display = ["kind", "value", "reason", "created_by", "created_at", "expires_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
