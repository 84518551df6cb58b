"""Row locks in one fixed order, and a bounded retry of a unit of work that lost a lock race.

Lock order (every decision takes the locks it needs in this order, so two decisions can wait
for each other's rows but never deadlock):

1. the idempotency key of the request (`pg_try_advisory_xact_lock`: never waits; a duplicate
   in flight answers 409 `idempotency_in_progress`), when the API call carries one;
2. the customer's row (`lock_customer`): serializes every decision for one customer;
3. the case row (`lock_case` in key_requests.py), then key rows (`lock_key`, and the license's
   active primary key before a grant supersedes it), then quota slots;
4. the audit chain's global advisory lock, taken by the first `audit.append` of the
   transaction and so always last; held to commit, which follows at once.

PostgreSQL takes `SELECT ... FOR UPDATE` row locks; SQLite ignores FOR UPDATE (its writers
begin IMMEDIATE, one at a time), so there the order holds trivially. A decision re-reads the
row it changes after taking its lock (`populate_existing`), so the state it checks is the
state it changes.

`retrying` runs a unit of work again (after a rollback) when PostgreSQL reports a deadlock,
a serialization failure or a lock timeout; the unit of work commits itself (callers own the
commit), so a retried attempt starts from a clean session."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from licensesvc.models import Customer

from .context import ServiceContext

T = TypeVar("T")

#: serialization_failure, deadlock_detected, lock_not_available (lock_timeout)
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
#: attempts of one unit of work, the first included
DEFAULT_ATTEMPTS = 3


def lock_customer(ctx: ServiceContext, customer_id: int) -> None:
    """Step 2 of the lock order: the customer's row, held to commit."""
    ctx.session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


def is_retryable(exc: BaseException) -> bool:
    """Whether exc is a lost lock race worth running the unit of work again for."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return is_retryable(exc.orig)
    return str(getattr(exc, "sqlstate", None) or "") in RETRYABLE_SQLSTATES


def retrying(
    session: Session,
    work: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    pause: float = 0.05,
) -> T:
    """Return work() (which commits), running it again up to `attempts` times in all after a
    deadlock, serialization failure or lock timeout; the session is rolled back before each
    new attempt. Any other error, or the last attempt's, propagates unchanged."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            session.rollback()
            time.sleep(pause * attempt * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover
