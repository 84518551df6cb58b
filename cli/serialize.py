"""Plain dicts of the service's records for printing (presentation only, no rules).

Each kind of record prints the keys its table names, in that order. A key's value is the
record's attribute of the same name unless its function gives the value itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
from licensesvc.services.issued_keys import effective_status

CUSTOMER = "id name region created_at".split()
CONTRACT = "id customer_id plan start end paid_through grace_days created_at".split()
LICENSE = "id customer_id product agents jobs host failover_host expires_on created_at".split()
KEY = (
    "serial kind status license_id customer_id case_number reason dr_test_date issued_at"
    " not_before expires_at supersedes superseded_by usable_until revoked_at revoked_reason"
    " signing_kid"
).split()
CASE = (
    "case_number status kind customer_id license_id contract_id reason dr_test_date host"
    " severity requested_by created_at refusal_code refusal_message escalated_at"
    " escalation_note respond_by decided_at decided_by decision_reason key_serial"
).split()
TOKEN = "id prefix customer_id analyst created_at expires_at last_used_at revoked_at".split()
USER = "id customer_id email created_at".split()
SIGNING_KEY = "kid status created_at retired_at public_key_pem rotation_statement".split()
AUDIT_RECORD = "id at actor action entity customer_id reason details hash".split()


def record(obj: object, keys: list[str], **given: Any) -> dict[str, Any]:
    """{key: value} for each of keys in order: the value given here, else obj's attribute."""
    return {name: given[name] if name in given else getattr(obj, name) for name in keys}


def customer(c: Customer) -> dict[str, Any]:
    return record(c, CUSTOMER)


def contract(c: Contract) -> dict[str, Any]:
    return record(c, CONTRACT, start=c.start_date, end=c.end_date)


def license_(lic: License) -> dict[str, Any]:
    return record(lic, LICENSE)


def key(k: IssuedKey, now: datetime, *, with_text: bool = False) -> dict[str, Any]:
    data = record(k, KEY, status=effective_status(k, now))
    if with_text:
        data["key"] = k.key_text
    return data


def case(c: KeyRequest) -> dict[str, Any]:
    return record(c, CASE)


def token(t: ApiToken) -> dict[str, Any]:
    return record(t, TOKEN, analyst=t.analyst_name)


def user(u: User) -> dict[str, Any]:
    return record(u, USER)


def signing_key(rec: SigningKeyRecord) -> dict[str, Any]:
    return record(rec, SIGNING_KEY)


def audit_record(r: AuditRecord) -> dict[str, Any]:
    return record(r, AUDIT_RECORD, entity=f"{r.entity_type}:{r.entity_id}")
