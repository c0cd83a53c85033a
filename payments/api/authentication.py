from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from audit.context import set_actor
from payments.errors import AuthenticationFailed, ErrorCode
from payments.models import ApiKey, Merchant
from payments.services.api_keys import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer sk_test_…` → (merchant, api key)."""

    def authenticate(self, request: Request) -> tuple[Merchant, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationFailed(
                "Use 'Authorization: Bearer <secret key>'.", code=ErrorCode.API_KEY_INVALID
            )
        api_key = api_key_authenticate(secret=secret.strip())
        set_actor(actor_id=f"api_key:{api_key.id}", actor_type="api_key")
        return api_key.merchant, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="paydesk"'
