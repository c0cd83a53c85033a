"""Operators limited to some merchants (PCI DSS 7: least privilege). An operator granted
`payments.operate_merchant` on particular merchants (django-guardian object permissions, to
the user or one of their groups) sees and touches only those merchants' data in every screen,
action, search and export; screens of global data are closed to them. Without such grants an
operator is not limited by merchant (their role still applies)."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

SCOPE_CODENAME = "operate_merchant"
SCOPE_APP = "payments"


def operator_merchant_ids(user: Any) -> frozenset[str] | None:
    """The merchants `user` is limited to, or None when not limited. Cached on the user
    object for the request."""
    if not getattr(user, "is_authenticated", False) or user.is_superuser:
        return None
    if not hasattr(user, "_paydesk_merchant_scope"):
        from guardian.models import GroupObjectPermission, UserObjectPermission

        wanted = {
            "permission__codename": SCOPE_CODENAME,
            "permission__content_type__app_label": SCOPE_APP,
        }
        ids = set(
            UserObjectPermission.objects.filter(user=user, **wanted).values_list(
                "object_pk", flat=True
            )
        )
        ids |= set(
            GroupObjectPermission.objects.filter(group__user=user, **wanted).values_list(
                "object_pk", flat=True
            )
        )
        user._paydesk_merchant_scope = frozenset(ids) or None
    return user._paydesk_merchant_scope


class MerchantScopedAdmin:
    """For an admin of merchant-owned rows: `merchant_field` is the lookup to the merchant's
    id. Every list, detail, search, action and export starts from get_queryset."""

    merchant_field = "merchant_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        merchants = operator_merchant_ids(request.user)
        if merchants is None:
            return queryset
        return queryset.filter(**{f"{self.merchant_field}__in": merchants})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """A form's merchant choice offers only the operator's merchants."""
        merchants = operator_merchant_ids(request.user)
        if db_field.name == "merchant" and merchants is not None:
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(pk__in=merchants)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class GlobalDataAdmin:
    """For an admin of data that belongs to no merchant (or to all): closed to operators who
    are limited to some merchants."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        limited = operator_merchant_ids(request.user) is not None
        return not limited and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        limited = operator_merchant_ids(request.user) is not None
        return not limited and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        limited = operator_merchant_ids(request.user) is not None
        return not limited and super().has_change_permission(request, obj)  # type: ignore[misc]
