"""Merchant API for outbound webhooks: endpoints (create, list, retrieve, update, delete,
roll the signing secret) and the events they carry. Thin callers of `webhooks.outbound`;
its refusals become the API's error envelope here, since `webhooks` knows no payments."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.api.base import (
    CURSOR_PARAMS,
    MerchantAPIView,
    cursor_from_query,
    idempotency_key_header,
    query_params_check,
)
from payments.api.fields import FreeTextField, StrictCharField, StrictSerializer
from payments.api.serializers import list_of
from payments.api.views import ERRORS
from payments.errors import ErrorCode, IdempotencyError, InvalidRequest, ResourceMissing
from payments.models import ApiKeyScope
from payments.selectors import keyset_page
from webhooks.models import WebhookEndpointStatus
from webhooks.outbound import endpoints as endpoint_services
from webhooks.outbound.errors import ObjectMissing, WebhookError
from webhooks.outbound.representations import endpoint_dict, event_dict
from webhooks.outbound.selectors import endpoint_get, endpoint_queryset, event_get, event_queryset

MANAGE = ApiKeyScope.WEBHOOK_MANAGE


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "true", 1 or "yes"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class EndpointCreateSerializer(StrictSerializer):
    url = StrictCharField(max_length=2048, help_text="https only; a public address.")
    enabled_events = serializers.ListField(
        child=StrictCharField(max_length=100),
        help_text='Event types such as "payment.completed", or ["*"] for all.',
    )
    description = FreeTextField(required=False, allow_blank=True, max_length=500)


class EndpointUpdateSerializer(StrictSerializer):
    url = StrictCharField(required=False, max_length=2048)
    enabled_events = serializers.ListField(child=StrictCharField(max_length=100), required=False)
    description = FreeTextField(required=False, allow_blank=True, max_length=500)
    disabled = StrictBooleanField(
        required=False, help_text="true stops deliveries (waiting ones are cancelled)."
    )


class EndpointOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="webhook_endpoint")
    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField(help_text=" or ".join(WebhookEndpointStatus.values))
    disabled_reason = serializers.CharField(allow_null=True)
    livemode = serializers.BooleanField()
    created = serializers.IntegerField(help_text="Unix time")


class EndpointWithSecretOut(EndpointOut):
    secret = serializers.CharField(help_text="whsec_…: shown this once, never again.")


class EndpointDeletedOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="webhook_endpoint")
    deleted = serializers.BooleanField()


class EventOut(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="event")
    type = serializers.CharField()
    created = serializers.IntegerField(help_text="Unix time")
    livemode = serializers.BooleanField()
    data = serializers.DictField()


EndpointListOut = list_of(EndpointOut, "WebhookEndpointList")
EventListOut = list_of(EventOut, "EventList")
CURSOR_PARAMETERS = [
    OpenApiParameter("limit", int),
    OpenApiParameter("starting_after", str),
    OpenApiParameter("ending_before", str),
]


class WebhookAPIView(MerchantAPIView):
    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, ObjectMissing):
            exc = ResourceMissing(exc.resource, exc.object_id)
        elif isinstance(exc, WebhookError):
            exc = InvalidRequest(exc.message, code=ErrorCode.PARAMETER_INVALID, param=exc.param)
        return super().handle_exception(exc)


class RevealsSecretMixin:
    """For responses that carry a signing secret: the idempotency store keeps responses in
    plain text, so these requests refuse an Idempotency-Key rather than store the secret."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST" and idempotency_key_header(request) is not None:
            APIView.initial(self, request, *args, **kwargs)  # authenticate and check scopes
            raise IdempotencyError(
                "Idempotency-Key is not supported here: the response holds a signing secret, "
                "which is never stored.",
                code=ErrorCode.IDEMPOTENCY_KEY_INVALID,
            )
        super().initial(request, *args, **kwargs)


def _with_secret(created: endpoint_services.EndpointWithSecret) -> dict[str, Any]:
    return {**endpoint_dict(created.endpoint), "secret": created.secret}


class WebhookEndpointListCreateView(RevealsSecretMixin, WebhookAPIView):
    required_scopes = {"GET": MANAGE, "POST": MANAGE}

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=EndpointCreateSerializer,
        responses={201: EndpointWithSecretOut, **ERRORS},
        description="Register a URL for signed events (Standard Webhooks). The signing "
        "secret is in this response only. No Idempotency-Key: the secret is never stored.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated(EndpointCreateSerializer, request.data)
        created = endpoint_services.endpoint_create(
            merchant_id=self.merchant.id,
            livemode=self.livemode,
            url=data["url"],
            enabled_events=data["enabled_events"],
            description=data.get("description", ""),
        )
        return Response(_with_secret(created), status=201)

    @extend_schema(
        operation_id="webhook_endpoints_list",
        responses={200: EndpointListOut, **ERRORS},
        parameters=CURSOR_PARAMETERS,
    )
    def get(self, request: Request) -> Response:
        query_params_check(request.query_params, CURSOR_PARAMS)
        page = keyset_page(
            endpoint_queryset(merchant_id=self.merchant.id, livemode=self.livemode),
            cursor_from_query(request.query_params),
            "webhook_endpoint",
        )
        return self.list_response(page, endpoint_dict)


class WebhookEndpointDetailView(WebhookAPIView):
    required_scopes = {"GET": MANAGE, "POST": MANAGE, "DELETE": MANAGE}

    def _owner(self) -> dict[str, Any]:
        return {"merchant_id": self.merchant.id, "livemode": self.livemode}

    @extend_schema(
        operation_id="webhook_endpoints_retrieve", responses={200: EndpointOut, **ERRORS}
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(endpoint_dict(endpoint_get(**self._owner(), endpoint_id=endpoint_id)))

    @extend_schema(
        operation_id="webhook_endpoints_update",
        request=EndpointUpdateSerializer,
        responses={200: EndpointOut, **ERRORS},
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        data = self.validated(EndpointUpdateSerializer, request.data)
        endpoint = endpoint_services.endpoint_update(
            **self._owner(), endpoint_id=endpoint_id, **data
        )
        return Response(endpoint_dict(endpoint))

    @extend_schema(
        operation_id="webhook_endpoints_delete", responses={200: EndpointDeletedOut, **ERRORS}
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_services.endpoint_delete(**self._owner(), endpoint_id=endpoint_id)
        return Response({"id": endpoint.id, "object": "webhook_endpoint", "deleted": True})


class WebhookEndpointRollSecretView(RevealsSecretMixin, WebhookAPIView):
    required_scopes = {"POST": MANAGE}

    @extend_schema(
        operation_id="webhook_endpoints_roll_secret",
        request=None,
        responses={200: EndpointWithSecretOut, **ERRORS},
        description="A new signing secret, shown in this response only. For 24 hours "
        "webhooks carry signatures with both the new and the previous secret.",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        rolled = endpoint_services.endpoint_secret_roll(
            merchant_id=self.merchant.id, livemode=self.livemode, endpoint_id=endpoint_id
        )
        return Response(_with_secret(rolled))


class EventListView(WebhookAPIView):
    required_scopes = {"GET": MANAGE}

    @extend_schema(
        operation_id="events_list",
        responses={200: EventListOut, **ERRORS},
        parameters=[*CURSOR_PARAMETERS, OpenApiParameter("type", str)],
        description="Events sent (or to be sent) to webhook endpoints, newest first.",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query_params_check(params, CURSOR_PARAMS | {"type"})
        queryset = event_queryset(
            merchant_id=self.merchant.id,
            livemode=self.livemode,
            event_type=params.get("type") or None,
        )
        page = keyset_page(queryset, cursor_from_query(params), "event")
        return self.list_response(page, event_dict)


class EventDetailView(WebhookAPIView):
    required_scopes = {"GET": MANAGE}

    @extend_schema(operation_id="events_retrieve", responses={200: EventOut, **ERRORS})
    def get(self, request: Request, event_id: str) -> Response:
        return Response(
            event_dict(
                event_get(merchant_id=self.merchant.id, livemode=self.livemode, event_id=event_id)
            )
        )
