"""Helpers of the API tests: tokens, callers that hold a bearer token, problem assertions, extra
customers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from licensesvc.accounts import customers
from licensesvc.identity import tokens
from licensesvc.models import KeyRequest
from licensesvc.platform.context import ServiceContext

PROBLEM_JSON = "application/problem+json"


@dataclass
class Tokens:
    base: str
    premium: str
    analyst: str
    other: dict[int, str]

    def of(self, customer_id: int) -> str:
        return self.other[customer_id]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Caller:
    """Someone calling the API with their bearer token; a customer's key requests name its own
    license unless told otherwise."""

    client: FlaskClient
    token: str
    license_id: int | None = None

    def get(self, path: str) -> TestResponse:
        return self.client.get(path, headers=bearer(self.token))

    def read(self, path: str) -> Any:
        """GET a resource that must be there, and return its JSON."""
        r = self.get(path)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(path, json={} if body is None else body, headers=bearer(self.token))

    def ask_for_key(self, kind: str, **fields: Any) -> TestResponse:
        fields.setdefault("license_id", self.license_id)
        return self.post("/v1/key-requests", {"kind": kind, **fields})

    def issue(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Ask for a key that must be granted; return the key."""
        r = self.ask_for_key(kind, **fields)
        assert r.status_code == 201, r.get_json()
        key: dict[str, Any] = r.get_json()["key"]
        return key

    def case(self, case_number: str) -> Any:
        return self.read(f"/v1/key-requests/{case_number}")

    def on_case(self, case_number: str, verb: str, **body: Any) -> TestResponse:
        """escalate, grant or deny a case."""
        return self.post(f"/v1/key-requests/{case_number}/{verb}", body)

    def revoke(self, serial: str, reason: str) -> TestResponse:
        return self.post(f"/v1/keys/{serial}/revoke", {"reason": reason})


def add_customer(
    analyst: ServiceContext,
    tokens_: Tokens,
    name: str,
    plan: str,
    *,
    start: date,
    end: date,
    paid_through: date,
    region: str = "na",
) -> tuple[int, int]:
    """A customer with one contract and one license, and a token; returns (customer, license)."""
    customer = customers.create_customer(analyst, name, region)
    customers.create_contract(analyst, customer.id, plan, start, end, paid_through)
    lic = customers.create_license(analyst, customer.id, "JAMS Scheduler", 5, 100, "h.example")
    _, token = tokens.create_token(analyst, customer_id=customer.id)
    tokens_.other[customer.id] = token
    return customer.id, lic.id


def count_cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(KeyRequest)) or 0


@contextmanager
def no_new_case(session: Session) -> Iterator[None]:
    """Assert that what runs inside records no key-request case."""
    before = count_cases(session)
    yield
    assert count_cases(session) == before


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert a problem+json answer with this status and code; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body: dict[str, Any] = response.get_json(force=True)
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def days(n: int) -> timedelta:
    return timedelta(days=n)
