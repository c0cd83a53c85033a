from django.contrib.postgres.fields import ArrayField
from django.db import models

from config.ids import public_id_field
from payments.errors import ErrorCode, StateConflict


class Merchant(models.Model):
    """A business that takes payments through Paydesk (an API client)."""

    id = public_id_field("mer")
    slug = models.SlugField(
        max_length=100, unique=True, help_text="Human handle, e.g. merchant-123"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    default_gateway = models.CharField(max_length=30, default="sandbox")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "merchants"
        ordering = ["name"]
        # Granted per merchant (django-guardian): an operator holding it for some merchants is
        # limited to them (audit.scoping).
        permissions = [("operate_merchant", "Operator limited to this merchant")]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class ApiKeyMode(models.TextChoices):
    """Test keys (`sk_test_…`) never reach a live gateway account; live keys (`sk_live_…`) do."""

    TEST = "test"
    LIVE = "live"


class ApiKeyScope(models.TextChoices):
    """What a merchant API key may do."""

    PAYMENT_CREATE = "payment:create"
    PAYMENT_READ = "payment:read"
    PAYMENT_REFUND = "payment:refund"
    CUSTOMER_READ = "customer:read"
    CUSTOMER_WRITE = "customer:write"
    WEBHOOK_MANAGE = "webhook:manage"
    PRIVACY_EXPORT = "privacy:export"
    PRIVACY_ERASE = "privacy:erase"


class ApiKey(models.Model):
    """A merchant's secret key. Only its SHA-256 is stored; the secret is shown once."""

    id = public_id_field("key")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True, default="")
    mode = models.CharField(max_length=4, choices=ApiKeyMode.choices, default=ApiKeyMode.TEST)
    key_hash = models.CharField(max_length=64, unique=True)
    display_prefix = models.CharField(max_length=24, help_text="sk_test_ plus the first characters")
    last4 = models.CharField(max_length=4)
    scopes = ArrayField(models.CharField(max_length=32, choices=ApiKeyScope.choices))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        permissions = [("manage_api_keys", "Can generate, rotate and revoke API keys")]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return f"{self.display_prefix}…{self.last4}"

    def has_scopes(self, required: set[str]) -> bool:
        return required.issubset(self.scopes)


class Customer(models.Model):
    id = public_id_field("cus")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(blank=True, default="")
    name = models.CharField(max_length=200, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False, help_text="Live or test mode (of the API key)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "customers"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="idx_customers_merchant")]

    def __str__(self) -> str:
        return self.id  # not the email: screens show contact details masked


class PaymentMethod(models.Model):
    """A tokenized card. Merchants and operators see brand, last4, expiry and fingerprint;
    the PAN exists only under envelope encryption in the vault_* columns (`payments.vault`).
    """

    id = public_id_field("pm")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_methods")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_methods"
    )
    type = models.CharField(max_length=20, default="card")
    vault_key_version = models.PositiveSmallIntegerField(null=True)
    vault_wrapped_key = models.BinaryField(null=True, help_text="nonce || AES-GCM(KEK, data key)")
    vault_ciphertext = models.BinaryField(null=True, help_text="nonce || AES-GCM(data key, PAN)")
    card_brand = models.CharField(max_length=20)
    card_bin = models.CharField(max_length=6)
    card_last4 = models.CharField(max_length=4)
    card_exp_month = models.PositiveSmallIntegerField()
    card_exp_year = models.PositiveSmallIntegerField()
    card_fingerprint = models.CharField(max_length=64, db_index=True)
    livemode = models.BooleanField(default=False, help_text="Live or test mode (of the API key)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payment_methods"
        ordering = ["-created_at", "-id"]
        # Operators search payments by the card's last 4 digits.
        indexes = [models.Index(fields=["card_last4"], name="idx_payment_methods_last4")]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return f"{self.card_brand} •••• {self.card_last4}"


class PaymentStatus(models.TextChoices):
    """Stored uppercase, as the runbook's SQL queries them."""

    PENDING = "PENDING"
    REQUIRES_ACTION = "REQUIRES_ACTION", "Requires action (e.g. 3-D Secure)"
    UNDER_REVIEW = "UNDER_REVIEW", "Held for fraud review"
    PROCESSING = "PROCESSING", "A gateway call is in flight"
    AUTHORIZED = "AUTHORIZED", "Authorized, awaiting capture"
    COMPLETED = "COMPLETED", "Captured"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


S = PaymentStatus
# The one transition map. Terminal states stay terminal, whatever a late webhook says.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.UNDER_REVIEW, S.REQUIRES_ACTION, S.FAILED, S.CANCELLED}),
    S.UNDER_REVIEW: frozenset({S.PROCESSING, S.CANCELLED, S.FAILED}),
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.AUTHORIZED, S.COMPLETED, S.FAILED, S.CANCELLED}),
    # PROCESSING → AUTHORIZED also covers a failed capture or void returning to where it was.
    S.PROCESSING: frozenset({S.AUTHORIZED, S.COMPLETED, S.FAILED, S.REQUIRES_ACTION, S.CANCELLED}),
    S.AUTHORIZED: frozenset({S.PROCESSING, S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
# No gateway object exists yet in these states, so cancelling needs no gateway call.
CANCELLABLE_WITHOUT_GATEWAY = frozenset({S.PENDING, S.UNDER_REVIEW})
# These hold (or may yet hold) money at the gateway: cancelling voids it there first.
VOIDABLE = frozenset({S.AUTHORIZED, S.REQUIRES_ACTION})


class CaptureMethod(models.TextChoices):
    """`automatic`: authorize and capture in one gateway call; `manual`: capture later."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class PendingOperation(models.TextChoices):
    """Which gateway call a PROCESSING payment is waiting on (what recovery must ask about)."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"


class Payment(models.Model):
    id = public_id_field("pay")
    # Both served by the composite indexes below (merchant/customer first): one index fewer
    # to write per payment each.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        db_index=False,
    )
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    amount = models.BigIntegerField(db_comment="Integer minor units of `currency` (cents for USD)")
    currency = models.CharField(max_length=3, db_comment="ISO-4217, uppercase")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=S.PENDING)
    capture_method = models.CharField(
        max_length=10, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC
    )
    amount_captured = models.BigIntegerField(default=0, db_comment="Minor units")
    amount_refunded = models.BigIntegerField(default=0, db_comment="Minor units")
    gateway = models.CharField(max_length=30, blank=True, default="")
    gateway_reference = models.CharField(max_length=255, blank=True, default="")
    pending_operation = models.CharField(
        max_length=10, choices=PendingOperation.choices, blank=True, default=""
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    cancellation_reason = models.CharField(max_length=30, blank=True, default="")
    next_action = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True, default="")
    receipt_email = models.EmailField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    idempotency_key = models.CharField(
        max_length=255, blank=True, default="", help_text="The Idempotency-Key it was created with"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("review_payment", "Can approve or reject payments held for fraud review"),
            ("operate_payment", "Can capture or cancel payments from the back office"),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="idx_payments_customer_created"),
            models.Index(
                fields=["merchant", "-created_at", "-id"], name="idx_payments_merchant_created"
            ),
            models.Index(fields=["status", "created_at"], name="idx_payments_status_created"),
            # Webhooks, reconciliation and operators find payments by the gateway's id, and
            # operators by amount.
            models.Index(fields=["gateway_reference"], name="idx_payments_gateway_reference"),
            models.Index(fields=["amount", "-created_at"], name="idx_payments_amount"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_amount_positive"
            ),
            # Uppercase, as the runbook's SQL writes them: a raw UPDATE cannot slip in another.
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values), name="payments_status_known"
            ),
            # One payment per Idempotency-Key, whatever happens to the idempotency record.
            models.UniqueConstraint(
                fields=["merchant", "livemode", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="payments_one_per_idempotency_key",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_captured__gte=0, amount_captured__lte=models.F("amount")),
                name="payments_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount_refunded__gte=0, amount_refunded__lte=models.F("amount_captured")
                ),
                name="payments_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    def can_transition_to(self, status: str) -> bool:
        return status in PAYMENT_TRANSITIONS[self.status]

    def transition_to(self, status: str) -> None:
        """Move to `status` or raise StateConflict, changing nothing."""
        if not self.can_transition_to(status):
            raise StateConflict(
                f"This payment is {self.status}; it cannot become {status}.",
                code=ErrorCode.PAYMENT_UNEXPECTED_STATE,
            )
        self.status = status

    def can_capture(self) -> bool:
        return self.status == S.AUTHORIZED

    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE_WITHOUT_GATEWAY or self.status in VOIDABLE

    def can_refund(self) -> bool:
        return self.status == S.COMPLETED and self.amount_refunded < self.amount_captured


class TransactionKind(models.TextChoices):
    """One gateway operation. SALE is authorize-and-capture in one call."""

    AUTHORIZE = "AUTHORIZE"
    SALE = "SALE"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


class TransactionStatus(models.TextChoices):
    """The gateway's answer to one operation."""

    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    FAILED = "FAILED", "Gateway or network error"


class Transaction(models.Model):
    """The gateway ledger: one append-only row per gateway operation.

    The table is range-partitioned by month on `created_at` (its DDL is migration SQL; Django
    only holds its state), so its real primary key is (id, created_at); `id` is random and
    unique in practice. UPDATE and DELETE are rejected by a trigger.
    """

    id = public_id_field("txn")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    status = models.CharField(max_length=20, choices=TransactionStatus.choices)
    amount = models.BigIntegerField(db_comment="Minor units")
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=30)
    gateway_reference = models.CharField(max_length=255, blank=True, default="")
    idempotency_key = models.CharField(max_length=100)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "transactions"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.id}"


class RefundStatus(models.TextChoices):
    """PROCESSING: the gateway call is in flight (or its answer was lost: recovery asks);
    PENDING: the gateway accepted it and settles it later; COMPLETED and FAILED are final."""

    PROCESSING = "PROCESSING"
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    OTHER = "other"


REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.PROCESSING: frozenset(
        {RefundStatus.PENDING, RefundStatus.COMPLETED, RefundStatus.FAILED}
    ),
    RefundStatus.PENDING: frozenset({RefundStatus.COMPLETED, RefundStatus.FAILED}),
    RefundStatus.COMPLETED: frozenset(),
    RefundStatus.FAILED: frozenset(),
}


class Refund(models.Model):
    """Money returned from a captured payment. Its amount is reserved in the payment's
    `amount_refunded` when the refund is created (under the payment's row lock) and released
    again if the refund fails, so concurrent refunds can never exceed the captured amount."""

    id = public_id_field("re")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField(db_comment="Integer minor units of `currency`")
    currency = models.CharField(max_length=3, db_comment="ISO-4217, uppercase")
    status = models.CharField(
        max_length=20, choices=RefundStatus.choices, default=RefundStatus.PROCESSING
    )
    reason = models.CharField(max_length=30, choices=RefundReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    gateway = models.CharField(max_length=30)
    gateway_reference = models.CharField(
        max_length=255, blank=True, default="", help_text="The refund's id at the gateway"
    )
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    livemode = models.BooleanField(default=False)
    idempotency_key = models.CharField(
        max_length=255, blank=True, default="", help_text="The Idempotency-Key it was created with"
    )
    created_by = models.CharField(
        max_length=150, blank=True, default="", help_text="Operator username, or empty for the API"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "refunds"
        ordering = ["-created_at", "-id"]
        permissions = [("refund_payment", "Can refund payments")]
        indexes = [
            models.Index(fields=["payment", "-created_at"], name="idx_refunds_payment_created"),
            models.Index(fields=["status", "updated_at"], name="idx_refunds_status_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="refunds_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RefundStatus.values), name="refunds_status_known"
            ),
            models.UniqueConstraint(
                fields=["merchant", "livemode", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="refunds_one_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def gateway_idempotency_key(self) -> str:
        return f"{self.id}:refund"

    def transition_to(self, status: str) -> None:
        """Move to `status` or raise StateConflict, changing nothing."""
        if status not in REFUND_TRANSITIONS[self.status]:
            raise StateConflict(
                f"This refund is {self.status}; it cannot become {status}.",
                code=ErrorCode.REFUND_UNEXPECTED_STATE,
            )
        self.status = status


class RecoveryCheck(models.Model):
    """Recovery's record of one gateway operation left PROCESSING (its answer was lost): how
    often it asked the gateway, when it asks next, and how it ended (settled from the
    gateway's answer, or flagged for an operator after the last scheduled try)."""

    id = models.BigAutoField(primary_key=True)
    idempotency_key = models.CharField(
        max_length=100, unique=True, help_text="The gateway idempotency key of the operation"
    )
    resource_type = models.CharField(max_length=10)
    resource_id = models.CharField(max_length=64)
    operation = models.CharField(max_length=10)
    gateway = models.CharField(max_length=30)
    stuck_since = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True, default="")
    resolution = models.CharField(max_length=30, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "recovery_checks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["resource_type", "resource_id"], name="idx_recovery_resource")
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.resource_id} {self.operation}"


class GatewayProvider(models.TextChoices):
    SANDBOX = "sandbox"
    STRIPE = "stripe"
    PAYPAL = "paypal"


class GatewayAccount(models.Model):
    """A merchant's account at one gateway, with its routing preference and rules.

    The router tries a merchant's enabled accounts whose rules match the payment, lowest
    `priority` first (equal priorities by recent success rate). Credentials are a JSON object
    sealed with the vault's key-encryption key (never readable in the admin or the API)."""

    id = public_id_field("gwa")
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="gateway_accounts"
    )
    gateway = models.CharField(max_length=30, choices=GatewayProvider.choices)
    livemode = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first")
    currencies = ArrayField(
        models.CharField(max_length=3), default=list, blank=True, help_text="Empty: any"
    )
    min_amount = models.BigIntegerField(null=True, blank=True, db_comment="Minor units")
    max_amount = models.BigIntegerField(null=True, blank=True, db_comment="Minor units")
    card_brands = ArrayField(
        models.CharField(max_length=20), default=list, blank=True, help_text="Empty: any"
    )
    card_countries = ArrayField(
        models.CharField(max_length=2),
        default=list,
        blank=True,
        help_text="Issuer countries (from BIN ranges); empty: any",
    )
    api_base = models.URLField(
        blank=True, default="", help_text="Override the provider's API address (testing)"
    )
    credentials_key_version = models.PositiveIntegerField(null=True, blank=True)
    credentials_sealed = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gateway_accounts"
        ordering = ["merchant", "livemode", "priority", "gateway"]
        permissions = [("configure_gateways", "Can configure gateway accounts and breakers")]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "gateway", "livemode"], name="gateway_accounts_one_per_mode"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} ({'live' if self.livemode else 'test'}) for {self.merchant_id}"


class BreakerState(models.TextChoices):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOverride(models.TextChoices):
    NONE = "", "Rules decide"
    FORCED_OPEN = "forced_open", "Forced open (no traffic)"
    FORCED_CLOSED = "forced_closed", "Forced closed (errors ignored)"


class GatewayBreaker(models.Model):
    """One circuit breaker per gateway, shared by every process: the state the error-rate
    rules last set, and an operator's override on top of it."""

    gateway = models.CharField(max_length=30, primary_key=True)
    state = models.CharField(
        max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    override = models.CharField(
        max_length=15, choices=BreakerOverride.choices, blank=True, default=""
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    updated_by = models.CharField(max_length=150, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gateway_breakers"
        ordering = ["gateway"]

    def __str__(self) -> str:
        return f"{self.gateway}: {self.override or self.state}"


class ReconciliationRun(models.Model):
    """One comparison of a gateway's books for one day with our ledger. Re-running a day adds
    a run; earlier runs stay as they were."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    gateway = models.CharField(max_length=30)
    merchant = models.ForeignKey(
        Merchant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty for the sandbox (one shared ledger)",
    )
    livemode = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    gateway_records = models.PositiveIntegerField(default=0)
    ledger_records = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    exceptions = models.PositiveIntegerField(default=0)
    error = models.CharField(
        max_length=500, blank=True, default="", help_text="Why the run could not finish"
    )

    class Meta:
        db_table = "reconciliation_runs"
        ordering = ["-day", "-started_at"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.day} ({self.exceptions} exceptions)"


class ReconciliationExceptionKind(models.TextChoices):
    MISSING_AT_GATEWAY = "missing_at_gateway", "In our ledger, not at the gateway"
    MISSING_IN_LEDGER = "missing_in_ledger", "At the gateway, not in our ledger"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    DUPLICATE_IN_LEDGER = "duplicate_in_ledger"


class ReconciliationException(models.Model):
    """One difference a run found, open until an operator resolves it with a note."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=30, choices=ReconciliationExceptionKind.choices)
    reference = models.CharField(max_length=255)
    record_kind = models.CharField(max_length=10, help_text="charge or refund")
    ledger_amount = models.BigIntegerField(null=True, blank=True, db_comment="Minor units")
    gateway_amount = models.BigIntegerField(null=True, blank=True, db_comment="Minor units")
    ledger_currency = models.CharField(max_length=3, blank=True, default="")
    gateway_currency = models.CharField(max_length=3, blank=True, default="")
    gateway_status = models.CharField(max_length=20, blank=True, default="")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    resolution_note = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "reconciliation_exceptions"
        ordering = ["-created_at"]
        permissions = [("resolve_reconciliation", "Can resolve reconciliation exceptions")]
        indexes = [
            models.Index(fields=["resolved_at", "-created_at"], name="idx_recon_exceptions_open")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class Dispute(models.Model):
    """A chargeback the gateway told us about (by webhook): the customer's bank is taking the
    money back unless the merchant wins with evidence before `evidence_due_by`."""

    id = public_id_field("dp")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=30)
    gateway_reference = models.CharField(max_length=255)
    reason = models.CharField(max_length=50, blank=True, default="")
    amount = models.BigIntegerField(db_comment="Minor units")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=30, help_text="needs_response, under_review, won, lost, closed"
    )
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "disputes"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_reference"], name="disputes_one_per_gateway_dispute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved", "Approved and carried out"
    REJECTED = "rejected"
    FAILED = "failed", "Approved, but carrying it out failed"


class Approval(models.Model):
    """Four eyes: an operator's request that a second operator, with the permission to
    approve, approves (it is then carried out) or rejects."""

    id = models.BigAutoField(primary_key=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.CharField(max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["requested_at"]


class RefundApproval(Approval):
    """A back-office refund above FOUR_EYES_REFUND_THRESHOLD, waiting for a second operator."""

    amount = models.BigIntegerField(null=True, blank=True, db_comment="Minor units; empty: all")
    reason = models.CharField(max_length=30, choices=RefundReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT)

    class Meta(Approval.Meta):
        db_table = "refund_approvals"
        permissions = [("approve_refund", "Can approve another operator's large refund")]
        indexes = [models.Index(fields=["status", "requested_at"], name="idx_approvals_queue")]

    def __str__(self) -> str:
        return f"refund of {self.payment_id} by {self.requested_by} ({self.status})"


class StatusFixApproval(Approval):
    """A forced status for a payment stuck where recovery could not settle it (the operator
    checked the gateway by hand): always needs a second operator."""

    target_status = models.CharField(max_length=20, choices=PaymentStatus.choices)
    reason = models.CharField(max_length=500)

    class Meta(Approval.Meta):
        db_table = "status_fix_approvals"
        permissions = [("approve_status_fix", "Can approve another operator's status fix")]
        indexes = [models.Index(fields=["status", "requested_at"], name="idx_status_fixes_queue")]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.target_status} by {self.requested_by} ({self.status})"


class IdempotencyStatus(models.TextChoices):
    """A claimed key is IN_PROGRESS until its response is stored."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class IdempotencyKey(models.Model):
    """`Idempotency-Key` header records: unique per merchant, kept 24 h, storing the exact
    response bytes so a replay is byte-identical."""

    id = models.BigAutoField(primary_key=True)
    # Served by the unique (merchant, key) constraint.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, db_index=False)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=IdempotencyStatus.choices)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_key_per_merchant")
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id}:{self.key}"


class SandboxOperation(models.Model):
    """The sandbox gateway's own side of the ledger: what the 'remote' processor recorded,
    keyed by our gateway idempotency key so a retried call returns the same answer."""

    id = models.BigAutoField(primary_key=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    operation = models.CharField(max_length=10)
    reference = models.CharField(max_length=64, db_index=True)
    amount = models.BigIntegerField(db_comment="Minor units")
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=30)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sandbox_operations"

    def __str__(self) -> str:
        return f"{self.operation} {self.reference} {self.outcome}"
