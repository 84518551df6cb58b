"""A customer's contract standing on one day: the contract, maintenance and plan part of every
decision, computed from the records it is given (accounts.standing reads them). Read by the
policy, the quotas and the entitlement report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from .vocabulary import Plan

if TYPE_CHECKING:  # the records' types only: nothing here reads the database
    from licensesvc.models import Contract, Customer


@dataclass(frozen=True)
class Standing:
    """A customer's contract standing on one day: `today` is the calendar date in the
    customer's region's time zone, `contract` the one in force that day (see
    current_contract), its plan the one in effect that day after any plan change, and its
    paid-through the latest entry of its payment ledger (never past its end)."""

    customer: Customer
    contract: Contract | None
    today: date

    @property
    def plan(self) -> Plan | None:
        return Plan(self.contract.plan_on(self.today)) if self.contract else None

    @property
    def contract_active(self) -> bool:
        c = self.contract
        return c is not None and c.start_date <= self.today <= c.effective_end

    @property
    def term_end(self) -> date | None:
        """The contract's last covered day (keys and windows never pass it unless the policy
        says so), or None without a contract."""
        return None if self.contract is None else self.contract.end_date

    @property
    def maintenance_until(self) -> date | None:
        """The maintenance date signed into a key: the paid-through date, never past the
        contract's end (pay into the renewal instead)."""
        if self.contract is None or self.term_end is None:
            return None
        return min(self.contract.paid_through, self.term_end)

    def grace_days(self, default: int) -> int:
        if self.contract is None or self.contract.grace_days is None:
            return default
        return self.contract.grace_days

    def grace_until(self, default: int) -> date | None:
        if self.contract is None:
            return None
        return self.contract.paid_through + timedelta(days=self.grace_days(default))

    def maintenance_current(self, default_grace: int) -> bool:
        until = self.grace_until(default_grace)
        return until is not None and self.today <= until

    def in_grace(self, default_grace: int) -> bool:
        c = self.contract
        return (
            c is not None
            and c.paid_through < self.today
            and self.maintenance_current(default_grace)
        )

    def contract_problem(self) -> str | None:
        """The words of a contract_expired refusal, or None when the contract is active."""
        c = self.contract
        if c is None:
            return "there is no support contract on record for this customer"
        if self.today < c.start_date:
            return f"the support contract starts on {c.start_date}"
        if c.terminated_on is not None and self.today > c.effective_end:
            return (
                f"the support contract was terminated; its last covered day was {c.terminated_on}"
            )
        if self.today > c.end_date:
            return f"the support contract ended on {c.end_date}"
        return None

    def contract_year_start(self, day: date | None = None) -> date | None:
        """The first day of the contract year `day` (default today) falls in (years run from
        the start date)."""
        c = self.contract
        if c is None:
            return None
        day = self.today if day is None else day
        start = c.start_date
        years = day.year - start.year
        candidate = add_years(start, years)
        if candidate > day:
            candidate = add_years(start, years - 1)
        return candidate

    def next_contract_year_start(self) -> date | None:
        """The day the next contract year begins (per-year quotas restart), or None."""
        start = self.contract_year_start()
        if start is None or self.contract is None:
            return None
        first = self.contract.start_date
        return add_years(first, start.year - first.year + 1)


def add_years(d: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def pick_current(contracts: Iterable[Contract], today: date) -> Contract | None:
    """The contract in force on `today`: the one whose term (to its termination, if ended
    early) covers it, else the latest that has started (after its renewals), else the
    earliest future one."""
    contracts = list(contracts)
    covering = [c for c in contracts if c.start_date <= today <= c.effective_end]
    if covering:
        return max(covering, key=lambda c: (c.start_date, c.id))
    started = [c for c in contracts if c.start_date <= today]
    if started:
        return max(started, key=lambda c: (c.start_date, c.id))
    return min(contracts, key=lambda c: (c.start_date, c.id)) if contracts else None
