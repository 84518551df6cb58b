"""Turn domain objects into the plain mappings the response schemas dump. Formatting only:
every decision (e.g. a key's effective status) is a service function called here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from licensesvc.domain import CaseStatus
from licensesvc.models import IssuedKey, KeyRequest
from licensesvc.services.issued_keys import effective_status
from licensesvc.services.key_requests import Decision


def columns(obj: Any) -> dict[str, Any]:
    """The mapped column values of an ORM object, by attribute name."""
    return {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}


def key_record(key: IssuedKey, now: datetime) -> dict[str, Any]:
    """A key as the API shows it: its record, the text key, and its effective status now."""
    claims = key.claims or {}
    return {
        **columns(key),
        "key": key.key_text,
        "status": effective_status(key, now),
        "host": claims.get("host"),
        "failover_host": claims.get("failover_host"),
    }


def granted_case(case: KeyRequest, key: IssuedKey, now: datetime) -> dict[str, Any]:
    return {**columns(case), "key": key_record(key, now)}


def dry_run_record(decision: Decision, kind: str) -> dict[str, Any]:
    refusal = decision.refusal
    return {
        "dry_run": True,
        "outcome": CaseStatus.GRANTED if refusal is None else CaseStatus.REFUSED,
        "code": None if refusal is None else refusal.code,
        "message": "the request would be granted" if refusal is None else refusal.detail,
        "checks": [check.as_dict() for check in decision.checks],
        "would_issue": None
        if refusal is not None
        else {"kind": kind, "not_before": decision.not_before, "expires_at": decision.expires_at},
    }
