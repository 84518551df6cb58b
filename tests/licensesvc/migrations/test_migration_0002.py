"""Migration 0002 on a database made by 0001 with data in it (SQLite, and PostgreSQL when
LICENSESVC_TEST_DATABASE_URL names one): every row survives, each contract's paid_through
becomes its first payment-ledger entry, customers get their region's holiday calendar,
escalated cases get a next update due at their respond-by, denied cases keep their refusal
as the original one; and the downgrade puts paid_through back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from licensesvc.db import make_engine
from licensesvc.migrate import current_revision, downgrade, upgrade
from tests.conftest import fresh_database_url

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TABLES = ("customers", "contracts", "licenses", "key_requests", "keys", "audit_records")


@pytest.fixture
def engine_at_0001(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "mig"):
        engine = make_engine(url)
        try:
            upgrade(engine, "0001")
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


def _fill(engine: Engine) -> None:
    with engine.begin() as c:
        for i, (name, region) in enumerate(
            [("Acme", "na"), ("Globex", "emea"), ("Kangaroo", "apac")], 1
        ):
            c.execute(
                text(
                    "INSERT INTO customers (id, name, region, created_at) VALUES (:i, :n, :r, :t)"
                ),
                {"i": i, "n": name, "r": region, "t": T0},
            )
            c.execute(
                text(
                    "INSERT INTO contracts (id, customer_id, plan, start_date, end_date, "
                    "paid_through, grace_days, created_at) "
                    "VALUES (:i, :i, :p, :s, :e, :pt, NULL, :t)"
                ),
                {
                    "i": i,
                    "p": "premium" if i == 2 else "base",
                    "s": date(2026, 1, 1),
                    "e": date(2026, 12, 31),
                    "pt": date(2026, 6, 30 - i),
                    "t": T0,
                },
            )
            c.execute(
                text(
                    "INSERT INTO licenses (id, customer_id, product, agents, jobs, host, "
                    "failover_host, expires_on, created_at) VALUES (:i, :i, 'JAMS', 10, 100, "
                    ":h, NULL, NULL, :t)"
                ),
                {"i": i, "h": f"h{i}.example", "t": T0},
            )
        c.execute(
            text(
                "INSERT INTO keys (id, serial, license_id, customer_id, contract_id, kind, status, "
                "key_text, claims, signing_kid, issued_at, not_before) VALUES (1, 'SN-1', 1, 1, 1, "
                "'standard', 'active', 'LK1.x', '{}', 'kid', :t, :t)"
            ),
            {"t": T0},
        )
        for i, (status, code, respond_by) in enumerate(
            [
                ("escalated", "plan_not_eligible", datetime(2026, 1, 6, 15, 0, tzinfo=UTC)),
                ("denied", "maintenance_lapsed", None),
                ("refused", "quota_exceeded", None),
            ],
            1,
        ):
            c.execute(
                text(
                    "INSERT INTO key_requests (id, case_number, customer_id, license_id, "
                    "contract_id, kind, severity, requested_by, status, refusal_code, "
                    "refusal_message, created_at, respond_by) VALUES (:i, :n, 1, 1, 1, "
                    "'temporary', 3, 'customer:1', :s, :c, :m, :t, :rb)"
                ),
                {
                    "i": i,
                    "n": f"CS-{i}",
                    "s": status,
                    "c": code,
                    "m": f"words {i}",
                    "t": T0,
                    "rb": respond_by,
                },
            )
        c.execute(
            text(
                "INSERT INTO audit_records (id, at, actor, action, entity_type, entity_id, "
                "details, prev_hash, hash) VALUES (1, :t, 'system', 'x', 'customer', '1', '{}', "
                ":p, :h)"
            ),
            {"t": T0, "p": "0" * 64, "h": "a" * 64},
        )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}


def test_0002_keeps_every_row_and_moves_paid_through_into_the_ledger(
    engine_at_0001: Engine,
) -> None:
    engine = engine_at_0001
    before = _counts(engine)
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    assert _counts(engine) == before
    with engine.connect() as c:
        ledger = c.execute(
            text(
                "SELECT contract_id, paid_through, correction, recorded_by "
                "FROM contract_payments ORDER BY id"
            )
        ).all()
        assert [(r[0], _d(r[1]), bool(r[2]), r[3]) for r in ledger] == [
            (1, date(2026, 6, 29), False, "system:migration-0002"),
            (2, date(2026, 6, 28), False, "system:migration-0002"),
            (3, date(2026, 6, 27), False, "system:migration-0002"),
        ]
        assert c.execute(text("SELECT id, holidays FROM customers ORDER BY id")).all() == [
            (1, "US"),
            (2, "GB-ENG"),
            (3, "AU-NSW"),
        ]
        cases = c.execute(
            text(
                "SELECT status, respond_by, next_update_due, refusal_code, original_refusal_code, "
                "original_refusal_message FROM key_requests ORDER BY id"
            )
        ).all()
        assert (
            cases[0].next_update_due is not None and cases[0].next_update_due == cases[0].respond_by
        )
        assert (cases[1].original_refusal_code, cases[1].original_refusal_message) == (
            "maintenance_lapsed",
            "words 2",
        )
        assert cases[2].original_refusal_code is None and cases[2].refusal_code == "quota_exceeded"
        assert c.execute(text("SELECT contract_id FROM keys")).scalar_one() == 1


def test_the_migrated_database_works_through_the_models(engine_at_0001: Engine) -> None:
    from sqlalchemy.orm import Session

    from licensesvc.models import Contract, Customer

    upgrade(engine_at_0001)
    with Session(engine_at_0001) as session:
        contract = session.get(Contract, 2)
        assert contract is not None and contract.paid_through == date(2026, 6, 28)
        assert contract.plan_on(date(2026, 3, 1)) == "premium"
        customer = session.get(Customer, 3)
        assert customer is not None and customer.holidays == "AU-NSW"


def test_the_downgrade_puts_paid_through_back(engine_at_0001: Engine) -> None:
    upgrade(engine_at_0001)
    downgrade(engine_at_0001, "0001")
    with engine_at_0001.connect() as c:
        rows = c.execute(text("SELECT id, paid_through FROM contracts ORDER BY id")).all()
    assert [(r[0], _d(r[1])) for r in rows] == [
        (1, date(2026, 6, 29)),
        (2, date(2026, 6, 28)),
        (3, date(2026, 6, 27)),
    ]
    assert _counts(engine_at_0001)["contracts"] == 3


def _d(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
