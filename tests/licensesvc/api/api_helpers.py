"""Helpers of the API tests: tokens, bearer headers, problem assertions, extra customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc.models import KeyRequest
from licensesvc.services import customers, tokens
from licensesvc.services.context import ServiceContext

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
