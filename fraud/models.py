from django.db import models

from config.ids import MAX_LENGTH, public_id_field


class RuleKind(models.TextChoices):
    """What a rule looks at (its `parameters` depend on the kind, see `fraud.rules`)."""

    VELOCITY = "velocity", "More than N payments in a window from the same card/customer/email/IP"
    GEO_ANOMALY = "geo_anomaly", "Too far from the same card's previous payment too soon"
    AMOUNT_THRESHOLD = "amount_threshold", "Amount above a per-currency threshold"
    FIRST_PAYMENT_AMOUNT = "first_payment_amount", "A new card's first payment above a threshold"
    BLOCKLIST = "blocklist", "Card, email, IP/CIDR, BIN country or customer on a blocklist"
    CARD_TESTING = "card_testing", "Many declines or many small attempts from one IP or customer"
    BRUTE_FORCE = "brute_force", "Failed authentications from one IP (threat detection)"


class RuleAction(models.TextChoices):
    """What happens when a rule fires. The strongest action of all fired rules wins."""

    ALLOW = "allow"
    FLAG_FOR_REVIEW = "flag_for_review", "Hold as UNDER_REVIEW for an operator"
    REQUIRE_VERIFICATION = (
        "require_additional_verification",
        "Ask for verification (REQUIRES_ACTION)",
    )
    BLOCK = "block", "Fail the payment (fraud_blocked), no gateway call"
    BLOCK_IP = "block_ip", "Block the source IP (threat detection rules)"


class FraudRule(models.Model):
    """A rule as data (the runbook's `payment.fraud_rules`). Every change bumps `version`;
    fraud checks record the versions they used, so a decision can be explained later."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    condition = models.CharField(
        max_length=300, blank=True, default="", help_text="As written in the rules file"
    )
    parameters = models.JSONField(default=dict)
    action = models.CharField(max_length=40, choices=RuleAction.choices)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first")
    enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.CharField(max_length=255, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "fraud_rules"
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class FraudCheck(models.Model):
    """One evaluation: the decision, its score, and every rule that fired with what it saw."""

    id = public_id_field("frc")
    merchant_id = models.CharField(max_length=MAX_LENGTH)
    payment_id = models.CharField(max_length=MAX_LENGTH, db_index=True)
    decision = models.CharField(max_length=40, choices=RuleAction.choices)
    score = models.PositiveSmallIntegerField(help_text="0 (clean) to 100")
    fired = models.JSONField(default=list, help_text="[{rule, version, kind, action, observed}]")
    rule_versions = models.JSONField(default=dict, help_text="{rule name: version} evaluated")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "fraud_checks"
        ordering = ["-created_at"]
        # The dashboard and the admin list read recent checks.
        indexes = [models.Index(fields=["created_at"], name="idx_fraud_checks_created")]

    def __str__(self) -> str:
        return f"{self.decision} ({self.score}) for {self.payment_id}"


class ObservationKind(models.TextChoices):
    """An attempt is recorded when a payment is screened; a decline when the gateway declines
    its authorization (card-testing rules count those)."""

    ATTEMPT = "attempt"
    DECLINE = "decline"


class FraudObservation(models.Model):
    """The engine's own history of payment attempts and declines, for velocity, geography and
    card-testing checks."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(
        max_length=10, choices=ObservationKind.choices, default=ObservationKind.ATTEMPT
    )
    merchant_id = models.CharField(max_length=MAX_LENGTH)
    card_fingerprint = models.CharField(max_length=64, blank=True, default="")
    customer_id = models.CharField(max_length=MAX_LENGTH, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    amount = models.BigIntegerField(db_comment="Minor units")
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "fraud_observations"
        indexes = [
            models.Index(fields=["card_fingerprint", "created_at"], name="idx_fraud_obs_card"),
            # Only observations that have the key: most payments have no customer, e-mail or
            # client IP, and an index entry for "none" is written per payment and never read
            # (history queries say `<> ''` so that a prepared statement can use them).
            models.Index(
                fields=["customer_id", "created_at"],
                condition=~models.Q(customer_id=""),
                name="idx_fraud_obs_customer",
            ),
            models.Index(
                fields=["email", "created_at"],
                condition=~models.Q(email=""),
                name="idx_fraud_obs_email",
            ),
            models.Index(
                fields=["ip_address", "created_at"],
                condition=models.Q(ip_address__isnull=False),
                name="idx_fraud_obs_ip",
            ),
            # Dry runs of a rule over the last N days scan by time.
            models.Index(fields=["created_at"], name="idx_fraud_obs_created"),
        ]

    def __str__(self) -> str:
        return f"{self.card_fingerprint[:8]} {self.created_at:%Y-%m-%d %H:%M}"


class BlocklistKind(models.TextChoices):
    """What a blocklist entry matches."""

    CARD_FINGERPRINT = "card_fingerprint"
    EMAIL = "email"
    IP = "ip", "IP address or CIDR range"
    BIN_COUNTRY = "bin_country"
    CUSTOMER = "customer"


class BlocklistEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=BlocklistKind.choices)
    value = models.CharField(max_length=255, help_text="Lower-case email; IP or CIDR; ISO country")
    reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "fraud_blocklist"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="blocklist_unique_value")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class IpBlock(models.Model):
    """An IP refused at the edge (API and back office) until `blocked_until`: set by the
    brute-force rule or by an operator (`./scripts/emergency-block-ip.sh`)."""

    id = models.BigAutoField(primary_key=True)
    ip_address = models.GenericIPAddressField()
    reason = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=20, help_text="rule | operator")
    created_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    blocked_until = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "ip_blocks"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ip_address", "lifted_at"], name="idx_ip_blocks_active")]

    def __str__(self) -> str:
        return f"{self.ip_address} ({self.source})"


class BinRange(models.Model):
    """Issuer country by card BIN prefix (4-8 digits), loaded from the operator's BIN data
    (`manage.py load_bin_ranges FILE.csv`). The longest matching prefix wins."""

    prefix = models.CharField(max_length=8, primary_key=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "fraud_bin_ranges"

    def __str__(self) -> str:
        return f"{self.prefix} → {self.country}"
