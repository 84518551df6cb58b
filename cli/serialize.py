"""Plain dicts of the service's records for printing (presentation only, no rules)."""

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


def customer(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "region": c.region, "created_at": c.created_at}


def contract(c: Contract) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "plan": c.plan,
        "start": c.start_date,
        "end": c.end_date,
        "paid_through": c.paid_through,
        "grace_days": c.grace_days,
        "created_at": c.created_at,
    }


def license_(lic: License) -> dict[str, Any]:
    return {
        "id": lic.id,
        "customer_id": lic.customer_id,
        "product": lic.product,
        "agents": lic.agents,
        "jobs": lic.jobs,
        "host": lic.host,
        "failover_host": lic.failover_host,
        "expires_on": lic.expires_on,
        "created_at": lic.created_at,
    }


def key(k: IssuedKey, now: datetime, *, with_text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "serial": k.serial,
        "kind": k.kind,
        "status": effective_status(k, now),
        "license_id": k.license_id,
        "customer_id": k.customer_id,
        "case_number": k.case_number,
        "reason": k.reason,
        "dr_test_date": k.dr_test_date,
        "issued_at": k.issued_at,
        "not_before": k.not_before,
        "expires_at": k.expires_at,
        "supersedes": k.supersedes,
        "superseded_by": k.superseded_by,
        "usable_until": k.usable_until,
        "revoked_at": k.revoked_at,
        "revoked_reason": k.revoked_reason,
        "signing_kid": k.signing_kid,
    }
    if with_text:
        data["key"] = k.key_text
    return data


def case(c: KeyRequest) -> dict[str, Any]:
    return {
        "case_number": c.case_number,
        "status": c.status,
        "kind": c.kind,
        "customer_id": c.customer_id,
        "license_id": c.license_id,
        "contract_id": c.contract_id,
        "reason": c.reason,
        "dr_test_date": c.dr_test_date,
        "host": c.host,
        "severity": c.severity,
        "requested_by": c.requested_by,
        "created_at": c.created_at,
        "refusal_code": c.refusal_code,
        "refusal_message": c.refusal_message,
        "escalated_at": c.escalated_at,
        "escalation_note": c.escalation_note,
        "respond_by": c.respond_by,
        "decided_at": c.decided_at,
        "decided_by": c.decided_by,
        "decision_reason": c.decision_reason,
        "key_serial": c.key_serial,
    }


def token(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "prefix": t.prefix,
        "customer_id": t.customer_id,
        "analyst": t.analyst_name,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    }


def user(u: User) -> dict[str, Any]:
    return {"id": u.id, "customer_id": u.customer_id, "email": u.email, "created_at": u.created_at}


def signing_key(rec: SigningKeyRecord) -> dict[str, Any]:
    return {
        "kid": rec.kid,
        "status": rec.status,
        "created_at": rec.created_at,
        "retired_at": rec.retired_at,
        "public_key_pem": rec.public_key_pem,
        "rotation_statement": rec.rotation_statement,
    }


def audit_record(r: AuditRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "entity": f"{r.entity_type}:{r.entity_id}",
        "customer_id": r.customer_id,
        "reason": r.reason,
        "details": r.details,
        "hash": r.hash,
    }
