"""Refusals of the outbound webhook services. `message` is written for the merchant or the
operator; the API turns these into its error envelope."""


class WebhookError(Exception):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class EndpointInvalid(WebhookError):
    """The endpoint's settings cannot be accepted."""


class DestinationRefused(EndpointInvalid):
    """The URL is not https, or its host resolves to an address we never send to (SSRF)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="url")


class DestinationUnresolvable(EndpointInvalid):
    def __init__(self, message: str) -> None:
        super().__init__(message, param="url")


class ObjectMissing(WebhookError):
    def __init__(self, resource: str, object_id: str) -> None:
        super().__init__(f"No such {resource}: '{object_id[:64]}'", param="id")
        self.resource = resource
        self.object_id = object_id


class DeliveryNotReplayable(WebhookError):
    """Only dead-lettered or cancelled deliveries of an enabled endpoint are replayed."""


class ReplayRateLimited(WebhookError):
    pass
