"""The JSON the CLI prints of a read model: its schema's (licensesvc/presentation), the same
that the API answers with. A list prints narrower rows, a selection of the schema's fields
(marshmallow refuses a name the schema does not have). Records the services still hand back
as rows are made read models here first (`View.of`), so no command reshapes one itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from licensesvc.presentation import (
    SCHEMA_OF,
    AnalystCaseSchema,
    CaseSchema,
    CustomerSchema,
    KeySchema,
    LicenseSchema,
    SigningKeySchema,
)
from licensesvc.readmodels import (
    AuditRecordView,
    CaseView,
    ContractPaymentView,
    ContractView,
    CustomerView,
    KeyView,
    LicenseView,
    SigningKeyView,
    TokenView,
    UserView,
)

_CUSTOMER_ROW = CustomerSchema(only=("id", "name", "region", "created_at"))
_CONTRACT = SCHEMA_OF[ContractView]()
_LICENSE = LicenseSchema()
_PAYMENT = SCHEMA_OF[ContractPaymentView]()
_KEY_FIELDS = (
    "serial kind status license_id customer_id case_number reason dr_test_date issued_at"
    " not_before expires_at supersedes superseded_by usable_until revoked_at revoked_reason"
    " revocation_code signing_kid"
).split()
_KEY_ROW = KeySchema(only=_KEY_FIELDS)
_KEY_WITH_TEXT = KeySchema(only=[*_KEY_FIELDS, "key"])
_CASE_ROW = CaseSchema(
    only=(
        "case_number status kind customer_id license_id contract_id reason dr_test_date host"
        " severity requested_by created_at refusal_code refusal_message escalated_at"
        " escalation_note respond_by decided_at decided_by decision_reason key_serial"
    ).split()
)
_ANALYST_CASE = AnalystCaseSchema()
_TOKEN = SCHEMA_OF[TokenView]()
_USER = SCHEMA_OF[UserView]()
_SIGNING_KEY_ROW = SigningKeySchema(
    only=("kid", "status", "created_at", "retired_at", "public_key_pem", "rotation_statement")
)
_AUDIT_RECORD = SCHEMA_OF[AuditRecordView]()


def _dumped(schema: Any, view: object) -> dict[str, Any]:
    data: dict[str, Any] = schema.dump(view)
    return data


def customer(c: Any) -> dict[str, Any]:
    """A customer row (a Customer record or its CustomerView)."""
    return _dumped(_CUSTOMER_ROW, c if isinstance(c, CustomerView) else CustomerView.of(c))


def contract(c: Any) -> dict[str, Any]:
    return _dumped(_CONTRACT, c if isinstance(c, ContractView) else ContractView.of(c))


def payment(p: Any) -> dict[str, Any]:
    """A ledger entry (a ContractPayment record)."""
    return _dumped(_PAYMENT, ContractPaymentView.of(p))


def license_(lic: Any) -> dict[str, Any]:
    return _dumped(_LICENSE, lic if isinstance(lic, LicenseView) else LicenseView.of(lic))


def key(k: Any, now: datetime, *, with_text: bool = False) -> dict[str, Any]:
    # the CLI is the analysts' tool: it shows their words of a revocation
    view = k if isinstance(k, KeyView) else KeyView.of(k, now, analyst=True)
    return _dumped(_KEY_WITH_TEXT if with_text else _KEY_ROW, view)


def case(c: Any) -> dict[str, Any]:
    return _dumped(_CASE_ROW, c if isinstance(c, CaseView) else CaseView.of(c))


def analyst_case(view: CaseView) -> dict[str, Any]:
    """A case as an analyst sees it: its owner, status updates and internal notes."""
    return _dumped(_ANALYST_CASE, view)


def token(t: Any) -> dict[str, Any]:
    return _dumped(_TOKEN, TokenView.of(t))


def user(u: Any) -> dict[str, Any]:
    return _dumped(_USER, UserView.of(u))


def signing_key(rec: Any) -> dict[str, Any]:
    view = rec if isinstance(rec, SigningKeyView) else SigningKeyView.of(rec)
    return _dumped(_SIGNING_KEY_ROW, view)


def audit_record(r: Any) -> dict[str, Any]:
    return _dumped(_AUDIT_RECORD, AuditRecordView.of(r))
