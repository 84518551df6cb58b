"""The domain's vocabularies and pure rules: no database, no Flask, nothing of ours but
`licensesvc.config` (the policy numbers).

The vocabularies (`KeyKind`, `Plan`, ...) are re-exported here; the rules are modules of their
own: `policy` (the key-request policy table and `evaluate`), `support_plan` (the support-plan
clock), `standing` (a customer's standing on one day), `hosts` (the host rule),
`premium_services` (the Premium services' counts and dates), `text` (the control-character
rule), `moments` (how the words write a moment, and showing it in a zone) and `errors` (the
error root, codes only)."""

from .vocabulary import (
    DEFAULT_HOLIDAYS,
    OPEN_CASE_STATUSES,
    PRIMARY_KINDS,
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
    values,
)

__all__ = [
    "DEFAULT_HOLIDAYS",
    "OPEN_CASE_STATUSES",
    "PRIMARY_KINDS",
    "CaseStatus",
    "EffectiveKeyStatus",
    "EscalationReason",
    "KeyKind",
    "KeyStatus",
    "OutboxStatus",
    "Plan",
    "PremiumService",
    "Region",
    "RevocationCode",
    "ServiceRecordStatus",
    "SigningKeyStatus",
    "TemporaryReason",
    "values",
]
