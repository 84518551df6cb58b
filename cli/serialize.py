"""The JSON the CLI prints of a read model: its schema's (licensesvc/presentation), the same
that the API answers with. A list prints narrower rows, a selection of the schema's fields
(marshmallow refuses a name the schema does not have). Records the services still hand back
as rows are made read models here first (`View.of`), so no command reshapes one itself."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from licensesvc.readmodels import CaseView

_KEY_FIELDS = (
    "serial kind status license_id customer_id case_number reason dr_test_date issued_at"
    " not_before expires_at supersedes superseded_by usable_until revoked_at revoked_reason"
    " revocation_code signing_kid"
).split()
_CASE_FIELDS = (
    "case_number status kind customer_id license_id contract_id reason dr_test_date host"
    " severity requested_by created_at refusal_code refusal_message escalated_at"
    " escalation_note respond_by decided_at decided_by decision_reason key_serial"
).split()
_SIGNING_KEY_FIELDS = (
    "kid",
    "status",
    "created_at",
    "retired_at",
    "public_key_pem",
    "rotation_statement",
)


@cache
def _schema(name: str) -> Any:
    """The schema a row is printed with, made on first use: `--help` loads no schema, no read
    model and no model (tests/cli/test_cli_startup.py)."""
    from licensesvc import presentation as p
    from licensesvc import readmodels as r

    made: dict[str, Any] = {
        "customer": lambda: p.CustomerSchema(only=("id", "name", "region", "created_at")),
        "contract": lambda: p.SCHEMA_OF[r.ContractView](),
        "license": lambda: p.LicenseSchema(),
        "payment": lambda: p.SCHEMA_OF[r.ContractPaymentView](),
        "key": lambda: p.KeySchema(only=_KEY_FIELDS),
        "key_with_text": lambda: p.KeySchema(only=[*_KEY_FIELDS, "key"]),
        "case": lambda: p.CaseSchema(only=_CASE_FIELDS),
        "analyst_case": lambda: p.AnalystCaseSchema(),
        "token": lambda: p.SCHEMA_OF[r.TokenView](),
        "user": lambda: p.SCHEMA_OF[r.UserView](),
        "signing_key": lambda: p.SigningKeySchema(only=_SIGNING_KEY_FIELDS),
        "audit_record": lambda: p.SCHEMA_OF[r.AuditRecordView](),
    }
    return made[name]()


def _dumped(schema: str, view: object) -> dict[str, Any]:
    data: dict[str, Any] = _schema(schema).dump(view)
    return data


def customer(c: Any) -> dict[str, Any]:
    """A customer row (a Customer record or its CustomerView)."""
    from licensesvc.readmodels import CustomerView

    return _dumped("customer", c if isinstance(c, CustomerView) else CustomerView.of(c))


def contract(c: Any) -> dict[str, Any]:
    from licensesvc.readmodels import ContractView

    return _dumped("contract", c if isinstance(c, ContractView) else ContractView.of(c))


def payment(p: Any) -> dict[str, Any]:
    """A ledger entry (a ContractPayment record)."""
    from licensesvc.readmodels import ContractPaymentView

    return _dumped("payment", ContractPaymentView.of(p))


def license_(lic: Any) -> dict[str, Any]:
    from licensesvc.readmodels import LicenseView

    return _dumped("license", lic if isinstance(lic, LicenseView) else LicenseView.of(lic))


def key(k: Any, now: datetime, *, with_text: bool = False) -> dict[str, Any]:
    # the CLI is the analysts' tool: it shows their words of a revocation
    from licensesvc.readmodels import KeyView

    view = k if isinstance(k, KeyView) else KeyView.of(k, now, analyst=True)
    return _dumped("key_with_text" if with_text else "key", view)


def case(c: Any) -> dict[str, Any]:
    from licensesvc.readmodels import CaseView

    return _dumped("case", c if isinstance(c, CaseView) else CaseView.of(c))


def analyst_case(view: CaseView) -> dict[str, Any]:
    """A case as an analyst sees it: its owner, status updates and internal notes."""
    return _dumped("analyst_case", view)


def token(t: Any) -> dict[str, Any]:
    from licensesvc.readmodels import TokenView

    return _dumped("token", t if isinstance(t, TokenView) else TokenView.of(t))


def user(u: Any) -> dict[str, Any]:
    from licensesvc.readmodels import UserView

    return _dumped("user", u if isinstance(u, UserView) else UserView.of(u))


def signing_key(rec: Any) -> dict[str, Any]:
    from licensesvc.readmodels import SigningKeyView

    view = rec if isinstance(rec, SigningKeyView) else SigningKeyView.of(rec)
    return _dumped("signing_key", view)


def audit_record(r: Any) -> dict[str, Any]:
    from licensesvc.readmodels import AuditRecordView

    return _dumped("audit_record", AuditRecordView.of(r))
