"""How read models are shown: one marshmallow schema per read model (the API's JSON and the
CLI's `--json`, licensesvc/presentation/schemas.py) and the labels of every vocabulary word
(licensesvc/presentation/labels.py). Front ends present what the services return through
this package; it imports the read models and the vocabularies, nothing of the services."""

from __future__ import annotations

from .schemas import (
    PRESENTS,
    SCHEMA_OF,
    AnalystCaseSchema,
    CaseSchema,
    CaseUpdateSchema,
    ContractSchema,
    CustomerSchema,
    DryRunSchema,
    EntitlementReportSchema,
    GrantedCaseSchema,
    KeyDetailSchema,
    KeySchema,
    LicenseChangeRow,
    LicenseSchema,
    LicenseWithHistorySchema,
    PaymentSchema,
    SigningKeySchema,
    WholeCaseSchema,
    dump,
)

__all__ = [
    "PRESENTS",
    "SCHEMA_OF",
    "AnalystCaseSchema",
    "CaseSchema",
    "CaseUpdateSchema",
    "WholeCaseSchema",
    "KeyDetailSchema",
    "PaymentSchema",
    "LicenseWithHistorySchema",
    "LicenseChangeRow",
    "ContractSchema",
    "CustomerSchema",
    "DryRunSchema",
    "EntitlementReportSchema",
    "GrantedCaseSchema",
    "KeySchema",
    "LicenseSchema",
    "SigningKeySchema",
    "dump",
]
