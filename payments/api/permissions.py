from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

from payments.errors import ErrorCode, PermissionDenied


class HasRequiredScopes(BasePermission):
    """The API key must hold the scope the view names for this HTTP method
    (`required_scopes = {"GET": "payment:read", "POST": "payment:create"}`)."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.auth is None:
            return False
        if request.method == "OPTIONS" or not hasattr(view, request.method.lower()):
            return True  # OPTIONS is metadata; a method the view lacks gets DRF's 405
        method = "GET" if request.method == "HEAD" else request.method
        scope = view.required_scopes.get(method)
        if scope is None:
            raise PermissionDenied(
                f"{request.method} is not allowed with an API key here.",
                code=ErrorCode.INSUFFICIENT_SCOPE,
            )
        if scope not in request.auth.scopes:
            raise PermissionDenied(
                f"This API key lacks the '{scope}' scope.", code=ErrorCode.INSUFFICIENT_SCOPE
            )
        return True
