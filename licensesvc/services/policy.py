"""The key-request policy as data: what each key kind needs, its window, its quota, its host
rule, which plans include it and who may request it, stated once in `RULES`, and the one
function (`evaluate`) that reads the table.

Pure: nothing here touches the database or the clock. The caller (services/key_requests.py)
gathers the facts (license, standing, quota use, now) and passes them in; the dry run, the
real request, an analyst's grant, the API, the CLI and the portal all go through `evaluate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from licensesvc.config import Policy
from licensesvc.domain import KeyKind, Plan, TemporaryReason, values

from .errors import REFUSAL_ORDER

if TYPE_CHECKING:
    from licensesvc.models import License

    from .standing import Standing

TEMPORARY_KEY_DAYS = 120  # fixed by the vendor's overview: "120-day temporary keys"

_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]{0,198}[A-Za-z0-9])?$")


class Window(StrEnum):
    """When a key of the kind is valid."""

    #: from issuance until the license expires (perpetual for a perpetual license)
    LICENSE_TERM = "license_term"
    #: TEMPORARY_KEY_DAYS from issuance (not past the contract end unless the policy allows)
    TEMPORARY_DAYS = "temporary_days"
    #: around the DR test date, requested within the policy's lead days
    AROUND_DR_TEST = "around_dr_test"


class QuotaRule(StrEnum):
    """What a key of the kind counts against."""

    DR_TESTS_PER_CONTRACT_YEAR = "dr_tests_per_contract_year"
    ACTIVE_TEMPORARY_PER_LICENSE = "active_temporary_per_license"


class HostRule(StrEnum):
    """Which hosts a key of the kind is bound to."""

    #: the requested host (default the license's); naming the failover host swaps the pair
    LICENSE_HOSTS = "license_hosts"
    #: as LICENSE_HOSTS, and a host that is neither moves the license there ("moved server")
    MOVES_LICENSE = "moves_license"
    #: the DR host only: no failover host
    DR_HOST_ONLY = "dr_host_only"


class Requester(StrEnum):
    ANALYST = "analyst"
    CUSTOMER_OR_ANALYST = "customer_or_analyst"


@dataclass(frozen=True)
class KindRule:
    """Everything that differs between key kinds."""

    kind: KeyKind
    needs_reason: bool
    needs_dr_test_date: bool
    window: Window
    quota: QuotaRule | None
    host: HostRule
    #: the plans that include this kind; None: not a plan service (analysts issue it)
    plans: frozenset[Plan] | None
    requested_by: Requester
    #: a primary key supersedes the license's active primary key
    primary: bool


_ALL_PLANS = frozenset(Plan)

RULES: dict[KeyKind, KindRule] = {
    rule.kind: rule
    for rule in (
        KindRule(
            KeyKind.STANDARD,
            needs_reason=False,
            needs_dr_test_date=False,
            window=Window.LICENSE_TERM,
            quota=None,
            host=HostRule.LICENSE_HOSTS,
            plans=None,
            requested_by=Requester.ANALYST,
            primary=True,
        ),
        KindRule(
            KeyKind.REPLACEMENT,
            needs_reason=False,
            needs_dr_test_date=False,
            window=Window.LICENSE_TERM,
            quota=None,
            host=HostRule.MOVES_LICENSE,
            plans=_ALL_PLANS,
            requested_by=Requester.CUSTOMER_OR_ANALYST,
            primary=True,
        ),
        KindRule(
            KeyKind.DR_TEST,
            needs_reason=False,
            needs_dr_test_date=True,
            window=Window.AROUND_DR_TEST,
            quota=QuotaRule.DR_TESTS_PER_CONTRACT_YEAR,
            host=HostRule.DR_HOST_ONLY,
            plans=_ALL_PLANS,
            requested_by=Requester.CUSTOMER_OR_ANALYST,
            primary=False,
        ),
        KindRule(
            KeyKind.TEMPORARY,
            needs_reason=True,
            needs_dr_test_date=False,
            window=Window.TEMPORARY_DAYS,
            quota=QuotaRule.ACTIVE_TEMPORARY_PER_LICENSE,
            host=HostRule.LICENSE_HOSTS,
            plans=frozenset({Plan.PREMIUM}),
            requested_by=Requester.CUSTOMER_OR_ANALYST,
            primary=False,
        ),
    )
}


def rule_for(kind: str) -> KindRule:
    """The rule of a key kind. Raises KeyError for an unknown kind (callers validate first)."""
    return RULES[KeyKind(kind)]


def plan_key_kinds(plan: Plan | str | None) -> list[KeyKind]:
    """The kinds a plan includes, in table order (none without a plan)."""
    if plan is None or plan not in values(Plan):
        return []
    return [r.kind for r in RULES.values() if r.plans is not None and plan in r.plans]


def temporary_reasons(plan: Plan | str | None) -> list[TemporaryReason]:
    """The reasons a temporary key may be requested for under the plan."""
    return list(TemporaryReason) if KeyKind.TEMPORARY in plan_key_kinds(plan) else []


def requester_problem(kind: str, *, is_analyst: bool) -> str | None:
    """Why this caller may not request the kind at all (a Forbidden), or None."""
    rule = rule_for(kind)
    if rule.requested_by is Requester.ANALYST and not is_analyst:
        return f"{kind} keys are issued by support analysts; request a replacement key"
    return None


@dataclass(frozen=True)
class Quota:
    """One quota a key draws on, as services/quotas.py resolves a QuotaRule."""

    scope: str
    limit: int
    #: temporary-key slots free up when their key expires (or is revoked)
    frees_on_expiry: bool
    #: what is counted, for messages: "DR-test keys this contract year"
    counts: str


@dataclass(frozen=True)
class KeyRequestInput:
    license_id: int
    kind: str
    reason: str | None = None
    dr_test_date: date | None = None
    host: str | None = None
    severity: int | None = None


@dataclass(frozen=True)
class Check:
    """One policy check and its outcome, as a dry run lists it."""

    name: str
    code: str  # the refusal code this check produces
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "code": self.code, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    checks: tuple[Check, ...]
    not_before: datetime | None = None
    expires_at: datetime | None = None
    quota: Quota | None = None
    #: the instant the decision was taken: a granted key is issued at it, so its window
    #: (e.g. 120 days) is exact even when the clock ticks during the request
    decided_at: datetime | None = None

    @property
    def refusal(self) -> Check | None:
        """The failing check that wins by the documented precedence, or None."""
        failing = [c for c in self.checks if not c.passed]
        if not failing:
            return None
        return min(failing, key=lambda c: REFUSAL_ORDER.index(c.code))

    @property
    def granted(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class KeyHosts:
    """The hosts a key is bound to, and where the license moves (None: it stays)."""

    host: str
    failover_host: str | None
    license_moves_to: str | None


def key_hosts(rule: KindRule, lic: License, requested: str | None) -> KeyHosts:
    """Apply the kind's host rule to the license's hosts and the requested host."""
    key_host = (requested or lic.host).lower()
    moves_to: str | None = None
    if (
        rule.host is HostRule.MOVES_LICENSE
        and requested
        and key_host not in (lic.host, lic.failover_host)
    ):
        moves_to = key_host
    failover = lic.failover_host
    if rule.host is HostRule.DR_HOST_ONLY:
        failover = None  # the DR host is the only host of a DR-test key
    elif key_host == failover:
        failover = lic.host
    return KeyHosts(key_host, failover, moves_to)


def _utc_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def evaluate(
    policy: Policy,
    lic: License,
    st: Standing,
    req: KeyRequestInput,
    *,
    now: datetime,
    quota: Quota | None,
    quota_in_use: int,
) -> Decision:
    """Run every check of the table for req and return the Decision (pure: reads its arguments
    only). `quota` is the quota the kind's QuotaRule resolves to, `quota_in_use` its use now.
    Checks, in the order a dry run lists them: contract_active, maintenance_current,
    plan_eligible, request_valid, window_valid, quota_available."""
    rule = rule_for(req.kind)
    today = st.today
    checks = [
        _contract_check(st),
        _maintenance_check(policy, st),
        _plan_check(rule, st),
        _request_check(rule, lic, req, today),
    ]
    window_check, not_before, expires_at = _window(policy, rule, lic, st, req, now)
    checks.append(window_check)
    if quota is None:
        checks.append(Check("quota_available", "quota_exceeded", True, "no quota applies"))
    else:
        checks.append(
            Check(
                "quota_available",
                "quota_exceeded",
                quota_in_use < quota.limit,
                f"{quota_in_use} of {quota.limit} {quota.counts} used",
            )
        )
    return Decision(tuple(checks), not_before, expires_at, quota, decided_at=now)


def _contract_check(st: Standing) -> Check:
    problem = st.contract_problem()
    if problem is None:
        assert st.contract is not None
        problem_or_term = f"contract {st.contract.id} runs until {st.contract.end_date}"
    else:
        problem_or_term = problem
    return Check("contract_active", "contract_expired", problem is None, problem_or_term)


def _maintenance_check(policy: Policy, st: Standing) -> Check:
    if st.contract is None:
        return Check("maintenance_current", "maintenance_lapsed", False, "no contract")
    grace_until = st.grace_until(policy.grace_days)
    ok = st.maintenance_current(policy.grace_days)
    paid = st.contract.paid_through
    if ok and paid >= st.today:
        detail = f"maintenance is paid through {paid}"
    elif ok:
        detail = f"maintenance was paid through {paid}; in grace until {grace_until}"
    else:
        detail = f"maintenance was paid through {paid}" + (
            f" (grace ended {grace_until})" if grace_until != paid else ""
        )
    return Check("maintenance_current", "maintenance_lapsed", ok, detail)


def _plan_check(rule: KindRule, st: Standing) -> Check:
    plan = st.plan
    if rule.plans is None:
        eligible, detail = True, f"{rule.kind} keys are issued by support analysts"
    elif plan is None:
        eligible, detail = False, "no plan on record"
    else:
        eligible = plan in rule.plans
        detail = (
            f"the {plan} plan includes {rule.kind} keys"
            if eligible
            else f"{rule.kind} keys are a Premium plan service; this contract is {plan}"
        )
    return Check("plan_eligible", "plan_not_eligible", eligible, detail)


def retired_problem(lic: License) -> str | None:
    """The words of the refusal of a key for a retired license, or None when it is live."""
    if lic.retired_at is None:
        return None
    return f"license {lic.id} was retired on {lic.retired_at:%Y-%m-%d}; it gets no more keys"


def _request_check(rule: KindRule, lic: License, req: KeyRequestInput, today: date) -> Check:
    problems = []
    reasons = values(TemporaryReason)
    if rule.needs_reason:
        if not req.reason:
            problems.append(f"a {rule.kind} key needs a reason: " + ", ".join(reasons))
        elif req.reason not in reasons:
            problems.append(f"unknown reason {req.reason!r}; choose one of " + ", ".join(reasons))
    if rule.needs_dr_test_date and req.dr_test_date is None:
        problems.append("a DR-test key needs the test date (dr_test_date)")
    if req.host is not None and not _HOST_RE.match(req.host):
        problems.append(f"{req.host!r} is not a host name")
    if lic.expires_on is not None and lic.expires_on < today:
        problems.append(f"license {lic.id} expired on {lic.expires_on}")
    retired = retired_problem(lic)
    if retired is not None:
        problems.append(retired)
    return Check(
        "request_valid",
        "validation_error",
        not problems,
        "; ".join(problems) or "the request names everything its kind needs",
    )


def _window(
    policy: Policy,
    rule: KindRule,
    lic: License,
    st: Standing,
    req: KeyRequestInput,
    now: datetime,
) -> tuple[Check, datetime | None, datetime | None]:
    """The window_valid check and the key's validity (not_before, expires_at)."""
    today = st.today
    not_before: datetime | None = now
    expires_at: datetime | None = None
    ok, detail = True, "no date window applies"
    if rule.window is Window.LICENSE_TERM:
        if lic.expires_on is not None:
            expires_at = _utc_midnight(lic.expires_on + timedelta(days=1)) - timedelta(seconds=1)
        detail = (
            f"valid until the license expires ({lic.expires_on})"
            if lic.expires_on
            else "perpetual, like the license"
        )
    elif rule.window is Window.TEMPORARY_DAYS:
        expires_at = now + timedelta(days=TEMPORARY_KEY_DAYS)
        detail = f"valid {TEMPORARY_KEY_DAYS} days, until {expires_at:%Y-%m-%d %H:%M}Z"
        if (
            st.contract is not None
            and not policy.temporary_may_outlive_contract
            and expires_at.date() > st.contract.end_date
        ):
            ok = False
            detail = (
                f"a {TEMPORARY_KEY_DAYS}-day key would run until {expires_at.date()}, past the "
                f"contract end on {st.contract.end_date}"
            )
    elif rule.window is Window.AROUND_DR_TEST and req.dr_test_date is not None:
        test = req.dr_test_date
        earliest = today + timedelta(days=policy.dr_min_lead_days)
        latest = today + timedelta(days=policy.dr_max_lead_days)
        not_before = _utc_midnight(test - timedelta(days=policy.dr_window_days_before))
        expires_at = _utc_midnight(test + timedelta(days=policy.dr_window_days_after + 1)) - (
            timedelta(seconds=1)
        )
        if test < earliest:
            ok = False
            detail = (
                f"DR-test keys are requested in advance: the test date {test} must be on or "
                f"after {earliest}"
            )
        elif test > latest:
            ok = False
            detail = f"the test date {test} is more than {policy.dr_max_lead_days} days ahead"
        else:
            detail = (
                f"valid from {not_before:%Y-%m-%d} to {expires_at:%Y-%m-%d} around the test "
                f"on {test}"
            )
    return Check("window_valid", "invalid_window", ok, detail), not_before, expires_at


def rules_markdown() -> str:
    """RULES as the Markdown table docs/architecture.md shows (a test keeps the two equal)."""
    rows = [
        "| kind | needs | window | quota | hosts | plans | requested by | supersedes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in RULES.values():
        needs = [
            n for n, f in (("reason", r.needs_reason), ("dr_test_date", r.needs_dr_test_date)) if f
        ]
        plans = (
            "none: analysts issue it"
            if r.plans is None
            else ", ".join(p.value for p in Plan if p in r.plans)
        )
        quota = f"`{r.quota}`" if r.quota else "-"
        rows.append(
            f"| `{r.kind}` | {', '.join(needs) or '-'} | `{r.window}` | {quota} | `{r.host}` "
            f"| {plans} | {r.requested_by} | {'yes' if r.primary else 'no'} |"
        )
    return "\n".join(rows)
