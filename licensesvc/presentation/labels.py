"""The words a person reads for each vocabulary value (licensesvc/domain/vocabulary.py): one
table per vocabulary, built from its enum, so a member without words fails at import (and
tests/licensesvc/presentation/test_labels.py names it). The portal, the CLI's human output and
the mails show these; JSON and the database keep the values.

`label(KeyKind.DR_TEST)` is "DR test"; `labels_of(KeyKind)` maps each value to its label (a
template looks one up by the plain string it holds)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from licensesvc.domain import (
    CaseStatus,
    EffectiveKeyStatus,
    EscalationReason,
    KeyKind,
    KeyStatus,
    OutboxStatus,
    Plan,
    PremiumService,
    Region,
    RevocationCode,
    ServiceRecordStatus,
    SigningKeyStatus,
    TemporaryReason,
)

#: every vocabulary of licensesvc/domain/vocabulary.py
VOCABULARIES: tuple[type[StrEnum], ...] = (
    Plan,
    Region,
    KeyKind,
    TemporaryReason,
    KeyStatus,
    EffectiveKeyStatus,
    CaseStatus,
    SigningKeyStatus,
    RevocationCode,
    EscalationReason,
    OutboxStatus,
    PremiumService,
    ServiceRecordStatus,
)

#: the words, by vocabulary and value (statuses as the portal's badges show them)
_WORDS: dict[type[StrEnum], dict[str, str]] = {
    Plan: {"base": "Base", "premium": "Premium"},
    Region: {"emea": "EMEA", "na": "North America", "apac": "APAC"},
    KeyKind: {
        "standard": "Standard",
        "replacement": "Replacement",
        "dr_test": "DR test",
        "temporary": "Temporary (120 days)",
    },
    TemporaryReason: {
        "infrastructure_change": "Infrastructure change",
        "upgrade_patching": "Upgrades and patching",
        "seasonal_testing": "Seasonal testing",
        "usage_spike": "Usage spike",
    },
    KeyStatus: {"active": "active", "superseded": "superseded", "revoked": "revoked"},
    EffectiveKeyStatus: {
        "active": "active",
        "superseded": "superseded",
        "revoked": "revoked",
        "expired": "expired",
    },
    CaseStatus: {
        "granted": "granted",
        "refused": "refused",
        "escalated": "escalated",
        "denied": "denied",
    },
    SigningKeyStatus: {"active": "active", "retired": "retired"},
    RevocationCode: {
        "key_compromise": "key compromise",
        "superseded": "superseded",
        "customer_request": "customer request",
        "contract_ended": "contract ended",
        "issued_in_error": "issued in error",
    },
    # the customer's words for why they escalate (the portal's escalation form)
    EscalationReason: {
        "review_refusal": "Please review the refusal",
        "response_time_not_met": "The response time was not met",
        "handling_concern": "I have a concern about how the case is handled",
        "criticality_changed": "The issue has become more critical",
    },
    OutboxStatus: {"pending": "waiting", "sent": "sent", "failed": "given up"},
    PremiumService: {
        "upgrade": "Major upgrade with out-of-hours support",
        "health_check": "Annual health check",
        "support_review": "Bi-annual support review",
    },
    ServiceRecordStatus: {"requested": "requested", "held": "held"},
}

#: each vocabulary's labels, value -> words, in the vocabulary's order
LABELS: Mapping[type[StrEnum], Mapping[str, str]] = MappingProxyType(
    {
        vocabulary: MappingProxyType({m.value: _WORDS[vocabulary][m.value] for m in vocabulary})
        for vocabulary in VOCABULARIES
    }
)

#: a key kind inside a sentence: "Request a DR-test key"
KIND_NOUNS: Mapping[str, str] = MappingProxyType(
    {
        k.value: {
            KeyKind.STANDARD: "standard",
            KeyKind.REPLACEMENT: "replacement",
            KeyKind.DR_TEST: "DR-test",
            KeyKind.TEMPORARY: "120-day temporary",
        }[k]
        for k in KeyKind
    }
)

#: the policy's checks (licensesvc/domain/policy.py), as a dry run lists them to a customer
CHECK_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "contract_active": "Contract active",
        "maintenance_current": "Maintenance paid",
        "plan_eligible": "Included in your plan",
        "request_valid": "Request complete",
        "window_valid": "Validity window",
        "quota_available": "Quota available",
    }
)


def labels_of(vocabulary: type[StrEnum]) -> Mapping[str, str]:
    """Each value of the vocabulary and its label, in order."""
    return LABELS[vocabulary]


def label(word: StrEnum) -> str:
    """The label of one vocabulary member."""
    return LABELS[type(word)][word.value]


def check_label(name: str) -> str:
    """A policy check's label ("quota_available" -> "Quota available")."""
    return CHECK_LABELS.get(name, name.replace("_", " ").capitalize())
