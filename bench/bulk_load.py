"""Bulk loader: fill a licensesvc PostgreSQL database with N keys and matching customers,
contracts, licenses, cases and audit records, fast (PostgreSQL COPY through psycopg's
`cursor.copy`, not the API).

Run from the repository root, on a database that `licensesvc db upgrade` made and that has a
signing key (`licensesvc signing-key generate`)::

    .venv/bin/python -m bench.bulk_load --keys 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME

What one loaded customer has: a Premium contract (active, paid), two licenses, and per license
two keys, each granted through its own case: a standard key issued a year ago, superseded and
past its expiry, and its active replacement (every 200th license's replacement is revoked).
Each customer also has one refused case (a temporary key on a plan that, at that time, did not
allow it). Every created entity has its audit record, chained onto the existing trail with the
real hashes (`licensesvc audit verify` passes). Key texts are placeholders, not signed keys:
the benchmarks verify keys made through the service.

Loading appends: ids continue after the existing rows, and the id sequences are moved on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from licensesvc.domain.support_plan import REGIONS
from licensesvc.platform.audit import GENESIS, record_hash

KEYS_PER_LICENSE = 2
LICENSES_PER_CUSTOMER = 2
KEYS_PER_CUSTOMER = KEYS_PER_LICENSE * LICENSES_PER_CUSTOMER
REVOKE_EVERY = 200
PLACEHOLDER_KEY = "(bulk-loaded: not a signed key)"


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def _next_id(cur: psycopg.Cursor[Any], table: str) -> int:
    cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 (our own names)
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


class Audit:
    """Audit records chained onto the existing trail."""

    def __init__(self, cur: psycopg.Cursor[Any], at: datetime) -> None:
        cur.execute("SELECT id, hash FROM audit_records ORDER BY id DESC LIMIT 1")
        head = cur.fetchone()
        self.next_id = int(head[0]) + 1 if head else 1
        self.prev = str(head[1]) if head else GENESIS
        self.at = at
        self.rows: list[tuple[Any, ...]] = []

    def add(
        self, action: str, entity_type: str, entity_id: object, customer_id: int, **details: Any
    ) -> None:
        rid, actor = self.next_id, "system:bulk-load"
        digest = record_hash(
            id=rid,
            prev_hash=self.prev,
            at=self.at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            customer_id=customer_id,
            reason=None,
            details=details,
        )
        self.rows.append(
            (
                rid,
                self.at,
                actor,
                action,
                entity_type,
                str(entity_id),
                customer_id,
                json.dumps(details, sort_keys=True),
                self.prev,
                digest,
            )
        )
        self.prev = digest
        self.next_id += 1


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: str, rows: Iterator[tuple[Any, ...]]
) -> int:
    count = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def bulk_load(database_url: str, keys: int, *, today: date | None = None) -> dict[str, int]:
    """Append `keys` keys (rounded up to whole customers) and what goes with them; return the
    rows written per table."""
    if keys <= 0:
        return {}
    today = today or datetime.now(UTC).date()
    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=365)
    customers_n = -(-keys // KEYS_PER_CUSTOMER)
    written: dict[str, int] = {}
    with psycopg.connect(_psycopg_url(database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT kid FROM signing_keys WHERE status = 'active'")
        signer = cur.fetchone()
        if signer is None:
            raise SystemExit("bulk_load: no active signing key (licensesvc signing-key generate)")
        kid = signer[0]
        # the rows are consistent by construction: no foreign-key trigger per row for this
        # transaction (needs a superuser, as the benchmark's database owner is); the unique
        # indexes still check every row
        cur.execute("SET LOCAL session_replication_role = replica")
        c0, k0, l0 = (_next_id(cur, t) for t in ("customers", "contracts", "licenses"))
        key0, case0 = _next_id(cur, "keys"), _next_id(cur, "key_requests")
        audit = Audit(cur, now - timedelta(days=1))
        start, end = today - timedelta(days=30), today + timedelta(days=335)

        customer_rows: list[tuple[Any, ...]] = []
        contract_rows: list[tuple[Any, ...]] = []
        payment_rows: list[tuple[Any, ...]] = []  # the maintenance ledger: paid to the end
        license_rows: list[tuple[Any, ...]] = []
        key_rows: list[tuple[Any, ...]] = []
        case_rows: list[tuple[Any, ...]] = []
        key_id, case_id = key0, case0
        for i in range(customers_n):
            cid, kid_contract = c0 + i, k0 + i
            region = ("na", "emea", "apac")[i % 3]
            holidays = REGIONS[region].default_holidays  # as customers.create_customer sets it
            customer_rows.append((cid, f"Bulk customer {cid}", region, holidays, now))
            audit.add("customer.created", "customer", cid, cid)
            contract_rows.append((kid_contract, cid, "premium", start, end, now))
            payment_rows.append((kid_contract, end, False, now, "system:bulk-load"))
            audit.add("contract.created", "contract", kid_contract, cid, plan="premium")
            for j in range(LICENSES_PER_CUSTOMER):
                lid = l0 + i * LICENSES_PER_CUSTOMER + j
                host = f"sched{lid}.bulk.example"
                license_rows.append((lid, cid, "JAMS Scheduler", 10, 1000, host, now))
                audit.add("license.created", "license", lid, cid)
                old_serial, new_serial = f"BULK{key_id:010d}", f"BULK{key_id + 1:010d}"
                revoked = lid % REVOKE_EVERY == 0
                for serial, kind, status, issued, expires, supersedes, superseded_by in (
                    (old_serial, "standard", "superseded", year_ago, year_ago + timedelta(days=300),
                     None, new_serial),
                    (new_serial, "replacement", "revoked" if revoked else "active", now,
                     now + timedelta(days=330), old_serial, None),
                ):  # fmt: skip
                    case_number = f"CS-BULK-{case_id:010d}"
                    case_rows.append(
                        (case_id, case_number, cid, lid, kid_contract, kind, 3, "system:bulk-load",
                         "granted", issued, serial)
                    )  # fmt: skip
                    key_rows.append(
                        (key_id, serial, lid, cid, kid_contract, case_number, kind, status,
                         f"{PLACEHOLDER_KEY} {serial}",
                         hashlib.sha256(f"{PLACEHOLDER_KEY} {serial}".encode()).hexdigest(),
                         json.dumps({"serial": serial, "kind": kind}), kid,
                         issued, issued, expires, supersedes, superseded_by,
                         issued + timedelta(days=14) if superseded_by else None,
                         now if status == "revoked" else None,
                         "bulk load" if status == "revoked" else None)
                    )  # fmt: skip
                    audit.add("key.issued", "key", serial, cid, kind=kind, case=case_number)
                    key_id += 1
                    case_id += 1
            case_rows.append(
                (case_id, f"CS-BULK-{case_id:010d}", cid, l0 + i * LICENSES_PER_CUSTOMER,
                 kid_contract, "temporary", 3, "system:bulk-load", "refused", now, None)
            )  # fmt: skip
            case_id += 1

        written["customers"] = _copy(
            cur, "customers", "id, name, region, holidays, created_at", iter(customer_rows)
        )
        written["contracts"] = _copy(
            cur,
            "contracts",
            "id, customer_id, plan, start_date, end_date, created_at",
            iter(contract_rows),
        )
        written["contract_payments"] = _copy(
            cur,
            "contract_payments",
            "contract_id, paid_through, correction, recorded_at, recorded_by",
            iter(payment_rows),
        )
        written["licenses"] = _copy(
            cur,
            "licenses",
            "id, customer_id, product, agents, jobs, host, created_at",
            iter(license_rows),
        )
        written["key_requests"] = _copy(
            cur,
            "key_requests",
            "id, case_number, customer_id, license_id, contract_id, kind, severity, requested_by, "
            "status, created_at, key_serial",
            iter(case_rows),
        )
        cur.execute(
            "UPDATE key_requests SET refusal_code = 'plan_not_eligible', "
            "refusal_message = 'bulk-loaded refusal', reason = 'usage_spike' "
            "WHERE id >= %s AND status = 'refused'",
            (case0,),
        )
        written["keys"] = _copy(
            cur,
            "keys",
            "id, serial, license_id, customer_id, contract_id, case_number, kind, status, "
            "key_text, key_hash, claims, signing_kid, issued_at, not_before, expires_at, "
            "supersedes, superseded_by, usable_until, revoked_at, revoked_reason",
            iter(key_rows),
        )
        written["audit_records"] = _copy(
            cur,
            "audit_records",
            "id, at, actor, action, entity_type, entity_id, customer_id, details, prev_hash, hash",
            iter(audit.rows),
        )
        for table in (
            "customers",
            "contracts",
            "licenses",
            "keys",
            "key_requests",
            "audit_records",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(_psycopg_url(database_url), autocommit=True) as conn:
        # what the server would do on its own while a benchmark runs: the planner's statistics,
        # the visibility map and the hint bits of the new rows (autovacuum), and writing the
        # loaded pages out (the next checkpoint)
        conn.execute("VACUUM ANALYZE")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # not a superuser: the server writes them out at its own pace
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a licensesvc PostgreSQL database")
    parser.add_argument("--keys", type=int, required=True, help="how many keys to add")
    args = parser.parse_args(argv)
    started = time.monotonic()
    written = bulk_load(args.database_url, args.keys)
    took = time.monotonic() - started
    print(", ".join(f"{table}: {n:,}" for table, n in written.items()) + f" in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
