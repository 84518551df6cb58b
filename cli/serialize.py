"""Plain dicts of the service's read models for printing (presentation only, no rules).

Each kind of record prints the keys its table names, in that order, taken from the read model
(licensesvc/services/views.py) where there is one, else from the record; a function may give
a value itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from licensesvc.models import (
        ApiToken,
        AuditRecord,
        Contract,
        Customer,
        IssuedKey,
        KeyRequest,
        License,
        SigningKeyRecord,
        User,
    )
    from licensesvc.readmodels import (
        CaseView,
        ContractView,
        CustomerView,
        KeyView,
        LicenseView,
    )

CUSTOMER = "id name region created_at".split()
CONTRACT = "id customer_id plan start end paid_through grace_days created_at".split()
LICENSE = "id customer_id product agents jobs host failover_host expires_on created_at".split()
KEY = (
    "serial kind status license_id customer_id case_number reason dr_test_date issued_at"
    " not_before expires_at supersedes superseded_by usable_until revoked_at revoked_reason"
    " revocation_code"
    " signing_kid"
).split()
CASE = (
    "case_number status kind customer_id license_id contract_id reason dr_test_date host"
    " severity requested_by created_at refusal_code refusal_message escalated_at"
    " escalation_note respond_by decided_at decided_by decision_reason key_serial"
).split()
TOKEN = (
    "id prefix customer_id analyst created_by created_at expires_at last_used_at revoked_at"
).split()
USER = "id customer_id email created_at disabled_at last_signed_in_at".split()
SIGNING_KEY = "kid status created_at retired_at public_key_pem rotation_statement".split()
AUDIT_RECORD = "id at actor action entity customer_id reason details hash".split()


def record(obj: object, keys: list[str], **given: Any) -> dict[str, Any]:
    """{key: value} for each of keys in order: the value given here, else obj's attribute."""
    return {name: given[name] if name in given else getattr(obj, name) for name in keys}


def customer(c: Customer | CustomerView) -> dict[str, Any]:
    from licensesvc.readmodels import CustomerView

    return record(c if isinstance(c, CustomerView) else CustomerView.of(c), CUSTOMER)


def contract(c: Contract | ContractView) -> dict[str, Any]:
    from licensesvc.readmodels import ContractView

    return record(c if isinstance(c, ContractView) else ContractView.of(c), CONTRACT)


def license_(lic: License | LicenseView) -> dict[str, Any]:
    from licensesvc.readmodels import LicenseView

    return record(lic if isinstance(lic, LicenseView) else LicenseView.of(lic), LICENSE)


def key(k: IssuedKey | KeyView, now: datetime, *, with_text: bool = False) -> dict[str, Any]:
    from licensesvc.readmodels import KeyView

    # the CLI is the analysts' tool: it shows their words of a revocation
    view = k if isinstance(k, KeyView) else KeyView.of(k, now, analyst=True)
    data = record(view, KEY)
    if with_text:
        data["key"] = view.key
    return data


def case(c: KeyRequest | CaseView) -> dict[str, Any]:
    from licensesvc.readmodels import CaseView

    return record(c if isinstance(c, CaseView) else CaseView.of(c), CASE)


def token(t: ApiToken) -> dict[str, Any]:
    return record(t, TOKEN, analyst=t.analyst_name)


def user(u: User) -> dict[str, Any]:
    return record(u, USER)


def signing_key(rec: SigningKeyRecord) -> dict[str, Any]:
    return record(rec, SIGNING_KEY)


def audit_record(r: AuditRecord) -> dict[str, Any]:
    return record(r, AUDIT_RECORD, entity=f"{r.entity_type}:{r.entity_id}")
