"""The domain's vocabularies, defined once.

Models (CheckConstraints), services, marshmallow fields, click choices and OpenAPI enums all
derive from these. A `StrEnum` member is a `str`, so it compares equal to, stores as and
serializes as its value (`KeyKind.DR_TEST == "dr_test"`). The order of members is the order
used in messages, choices and the schema's CHECK constraints (keep it: migration 0001 wrote
those constraints in this order)."""

from __future__ import annotations

from enum import StrEnum


class Plan(StrEnum):
    BASE = "base"
    PREMIUM = "premium"


class Region(StrEnum):
    EMEA = "emea"
    NA = "na"
    APAC = "apac"


class KeyKind(StrEnum):
    STANDARD = "standard"
    REPLACEMENT = "replacement"
    DR_TEST = "dr_test"
    TEMPORARY = "temporary"


#: the kinds that supersede each other: one active per license (a partial unique index)
PRIMARY_KINDS: tuple[KeyKind, ...] = (KeyKind.STANDARD, KeyKind.REPLACEMENT)


class TemporaryReason(StrEnum):
    INFRASTRUCTURE_CHANGE = "infrastructure_change"
    UPGRADE_PATCHING = "upgrade_patching"
    SEASONAL_TESTING = "seasonal_testing"
    USAGE_SPIKE = "usage_spike"


class KeyStatus(StrEnum):
    """A key's stored status."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"


class EffectiveKeyStatus(StrEnum):
    """A key's status as a user sees it now: the stored one, or expired."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    EXPIRED = "expired"


class CaseStatus(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    ESCALATED = "escalated"
    DENIED = "denied"


#: a case an analyst may still grant or deny
OPEN_CASE_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.REFUSED, CaseStatus.ESCALATED)


class SigningKeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class RevocationCode(StrEnum):
    """Why a key was revoked (RFC 5280 in spirit)."""

    KEY_COMPROMISE = "key_compromise"
    SUPERSEDED = "superseded"
    CUSTOMER_REQUEST = "customer_request"
    CONTRACT_ENDED = "contract_ended"
    ISSUED_IN_ERROR = "issued_in_error"


class EscalationReason(StrEnum):
    """Why a case was escalated."""

    RESPONSE_TIME_NOT_MET = "response_time_not_met"
    HANDLING_CONCERN = "handling_concern"
    CRITICALITY_CHANGED = "criticality_changed"
    REVIEW_REFUSAL = "review_refusal"


class OutboxStatus(StrEnum):
    """A customer notification in the outbox: waiting, delivered, or given up on."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class PremiumService(StrEnum):
    """The Premium services the seed counts: one major upgrade per contract year (support
    outside business hours included), the annual health check and the bi-annual review."""

    UPGRADE = "upgrade"
    HEALTH_CHECK = "health_check"
    SUPPORT_REVIEW = "support_review"


class ServiceRecordStatus(StrEnum):
    """A Premium service on record: asked for (with a planned date) or held."""

    REQUESTED = "requested"
    HELD = "held"


#: each region's holiday calendar unless the customer has its own (holidays package codes)
DEFAULT_HOLIDAYS: dict[Region, str] = {
    Region.EMEA: "GB-ENG",
    Region.NA: "US",
    Region.APAC: "AU-NSW",
}


def values(vocabulary: type[StrEnum]) -> list[str]:
    """The plain string values of a vocabulary, in order (for OpenAPI enums and messages)."""
    return [member.value for member in vocabulary]
