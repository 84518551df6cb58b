"""The key-request policy as data: what each key kind needs, its window, its quota, its host
rule, which plans include it and who may request it, stated once in `RULES`, and the one
function (`evaluate`) that reads the table.

Pure: nothing here touches the database or the clock. The caller (issuance/key_requests.py)
gathers the facts (license, standing, quota use, now) and passes them in; the dry run, the
real request, an analyst's grant, the API, the CLI and the portal all go through `evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from licensesvc.config import Policy
from licensesvc.domain import KeyKind, Plan, TemporaryReason, values

from . import support_plan
from .errors import REFUSAL_ORDER
from .hosts import host_problem
from .moments import utc_minute

if TYPE_CHECKING:
    from licensesvc.models import License

    from .standing import Standing

TEMPORARY_KEY_DAYS = 120  # fixed by the vendor's overview: "120-day temporary keys"


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
    #: only when the key moves the license to a new host (the first move counts as one)
    HOST_MOVES_PER_CONTRACT_YEAR = "host_moves_per_contract_year"


class HostRule(StrEnum):
    """Which hosts a key of the kind is bound to."""

    #: the requested host (default the license's); naming the failover host swaps the pair
    LICENSE_HOSTS = "license_hosts"
    #: as LICENSE_HOSTS, and a host that is neither moves the license there ("moved server")
    MOVES_LICENSE = "moves_license"
    #: the DR host only, no failover host: the requested host, default the license's failover
    #: host (its DR server); a license without one must name the host
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
    #: the kind replaces a usable key of the license: none, `no_key_to_replace`
    needs_key_to_replace: bool = False


_ALL_PLANS = frozenset(Plan)

RULES: dict[KeyKind, KindRule] = {
    rule.kind: rule
    for rule in (
        KindRule(
            KeyKind.STANDARD,
            needs_reason=False,
            needs_dr_test_date=False,
            window=Window.LICENSE_TERM,
            quota=QuotaRule.HOST_MOVES_PER_CONTRACT_YEAR,
            host=HostRule.MOVES_LICENSE,
            plans=None,
            requested_by=Requester.ANALYST,
            primary=True,
        ),
        KindRule(
            KeyKind.REPLACEMENT,
            needs_reason=False,
            needs_dr_test_date=False,
            window=Window.LICENSE_TERM,
            quota=QuotaRule.HOST_MOVES_PER_CONTRACT_YEAR,
            host=HostRule.MOVES_LICENSE,
            plans=_ALL_PLANS,
            requested_by=Requester.CUSTOMER_OR_ANALYST,
            primary=True,
            needs_key_to_replace=True,
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


def missing_inputs(req: KeyRequestInput) -> list[str]:
    """The fields the request's kind needs that it leaves out (`reason`, `dr_test_date`), in
    the table's order; an analyst's CLI refuses such a request before any case is recorded."""
    rule = rule_for(req.kind)
    needed = (
        ("reason", rule.needs_reason, req.reason),
        ("dr_test_date", rule.needs_dr_test_date, req.dr_test_date),
    )
    return [name for name, needs, given in needed if needs and not given]


def customer_key_kinds() -> list[KeyKind]:
    """The kinds a customer may request (whatever its plan: a kind its plan lacks is refused
    `plan_not_eligible`, a case it may escalate), in table order."""
    return [r.kind for r in RULES.values() if r.requested_by is Requester.CUSTOMER_OR_ANALYST]


def requester_problem(kind: str, *, is_analyst: bool) -> str | None:
    """Why this caller may not request the kind at all (a Forbidden), or None."""
    rule = rule_for(kind)
    if rule.requested_by is Requester.ANALYST and not is_analyst:
        return f"{kind} keys are issued by support analysts; request a replacement key"
    return None


@dataclass(frozen=True)
class Quota:
    """One quota a key draws on, as issuance/quotas.py resolves a QuotaRule."""

    scope: str
    limit: int
    #: temporary-key slots free up when their key expires (or is revoked)
    frees_on_expiry: bool
    #: what is counted, for messages: "DR-test keys this contract year"
    counts: str
    #: for a quota whose units free on expiry: when the next one in use frees (None: none used)
    frees_at: datetime | None = None
    #: for a quota per contract year: the day its count restarts
    resets_on: date | None = None


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
    #: False for an impossible request (a DR test in the past, a retired license, a window past
    #: the license's expiry): an analyst's override bypasses policy, never these
    overridable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "code": self.code,
            "passed": self.passed,
            "detail": self.detail,
            "overridable": self.overridable,
        }


@dataclass(frozen=True)
class UsableKey:
    """A key of the license that is usable now or will be (not revoked, not past its expiry,
    not past the end of its overlap), as the host invariant counts it."""

    serial: str
    kind: KeyKind
    host: str
    failover_host: str | None
    not_before: datetime
    #: when it stops being usable: its expiry, or the end of its overlap; None: perpetual
    until: datetime | None
    superseded: bool = False

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.host,) if self.failover_host is None else (self.host, self.failover_host)

    def usable_at(self, at: datetime) -> bool:
        return self.not_before <= at and (self.until is None or at < self.until)

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether this key is usable at some moment of [start, end) (None: open)."""
        starts_before_end = end is None or self.not_before < end
        ends_after_start = start is None or self.until is None or self.until > start
        return starts_before_end and ends_after_start


@dataclass(frozen=True)
class LicenseKeys:
    """The license's usable keys (issuance/key_requests.py gathers them)."""

    keys: tuple[UsableKey, ...] = ()

    @property
    def primary(self) -> UsableKey | None:
        """The license's active standard or replacement key, if one is usable."""
        return next(
            (k for k in self.keys if RULES[k.kind].primary and not k.superseded),
            None,
        )

    @property
    def in_overlap(self) -> tuple[UsableKey, ...]:
        """Superseded keys still inside their overlap."""
        return tuple(k for k in self.keys if k.superseded)

    def of_kind(self, kind: KeyKind) -> tuple[UsableKey, ...]:
        return tuple(k for k in self.keys if k.kind is kind)


@dataclass(frozen=True)
class Decision:
    checks: tuple[Check, ...]
    not_before: datetime | None = None
    expires_at: datetime | None = None
    quota: Quota | None = None
    #: the instant the decision was taken: a granted key is issued at it, so its window
    #: (e.g. 120 days) is exact even when the clock ticks during the request
    decided_at: datetime | None = None
    #: the hosts the key is bound to and where the license moves
    hosts: KeyHosts | None = None
    #: superseded keys whose overlap this key ends at once (a move during an overlap, and
    #: overlaps the newer keys make redundant: `_overlaps_ended`)
    ends_overlap_of: tuple[str, ...] = field(default=())
    #: the hosts where those keys stop working at once (what the customer confirms first)
    stops_working_on: tuple[str, ...] = field(default=())

    @property
    def refusal(self) -> Check | None:
        """The failing check that wins by the documented precedence, or None."""
        failing = [c for c in self.checks if not c.passed]
        if not failing:
            return None
        return min(failing, key=lambda c: REFUSAL_ORDER.index(c.code))

    @property
    def impossible(self) -> Check | None:
        """The first failing check that no override can bypass, or None."""
        failing = [c for c in self.checks if not c.passed and not c.overridable]
        if not failing:
            return None
        return min(failing, key=lambda c: REFUSAL_ORDER.index(c.code))

    @property
    def granted(self) -> bool:
        return self.refusal is None

    def key_plan(
        self,
        rule: KindRule,
        lic: License,
        *,
        now: datetime,
        requested_host: str | None,
        reason: str | None,
        dr_test_date: date | None,
        case_number: str | None,
    ) -> KeyPlan:
        """What to sign for a key of rule's kind on lic as decided: the decision's hosts and
        window (a decision without them, as an analyst's grant of a refused case may be, falls
        back to the kind's host rule and to now), the kind's reason only when it needs one."""
        return KeyPlan(
            kind=rule.kind,
            hosts=self.hosts or key_hosts(rule, lic, requested_host),
            issued_at=self.decided_at or now,
            not_before=self.not_before or now,
            expires_at=self.expires_at,
            supersedes_primary=rule.primary,
            ends_overlap_of=self.ends_overlap_of,
            reason=reason if rule.needs_reason else None,
            dr_test_date=dr_test_date,
            case_number=case_number,
        )


@dataclass(frozen=True)
class KeyHosts:
    """The hosts a key is bound to, and where the license moves (None: it stays)."""

    host: str
    failover_host: str | None
    license_moves_to: str | None


def default_host(rule: KindRule, lic: License) -> str | None:
    """The host a key of the kind is bound to when the request names none: for a DR-test key
    the license's failover host (its DR server; None when the license has none, and the
    request must name the host), for every other kind the license's host."""
    if rule.host is HostRule.DR_HOST_ONLY:
        return lic.failover_host
    return lic.host


def dr_host_problem(rule: KindRule, lic: License, requested: str | None) -> str | None:
    """The words of the validation error of a DR-test request that names no host for a
    license without a failover host, or None."""
    if rule.host is HostRule.DR_HOST_ONLY and not requested and lic.failover_host is None:
        return (
            f"license {lic.id} has no failover host: name the DR host the DR-test key is for (host)"
        )
    return None


@dataclass(frozen=True)
class KeyPlan:
    """What a granted request signs, exactly as the policy decided it: the kind, the hosts
    (and where the license moves), the window, whether it supersedes the license's active
    primary key and which earlier overlaps it ends at once, with the case's words.
    `Decision.key_plan` makes it; issuance signs and stores it as it is."""

    kind: KeyKind
    hosts: KeyHosts
    #: the instant of the decision: the key's window is exact from it
    issued_at: datetime
    not_before: datetime
    expires_at: datetime | None
    #: a primary key supersedes the license's active primary key (which keeps its overlap)
    supersedes_primary: bool
    #: superseded keys whose overlap this key ends at once (`Decision.ends_overlap_of`)
    ends_overlap_of: tuple[str, ...] = ()
    #: the reason signed into the key (kinds that need one: temporary keys)
    reason: str | None = None
    dr_test_date: date | None = None
    case_number: str | None = None


def key_hosts(rule: KindRule, lic: License, requested: str | None) -> KeyHosts:
    """Apply the kind's host rule to the license's hosts and the requested host (none: the
    kind's `default_host`). Raises ValueError for a DR-test request without a host for a
    license without a failover host (`dr_host_problem` says so first)."""
    chosen = requested or default_host(rule, lic)
    if chosen is None:
        raise ValueError(dr_host_problem(rule, lic, requested))
    key_host = chosen.lower()
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


def quota_rule(rule: KindRule, lic: License, req: KeyRequestInput) -> QuotaRule | None:
    """The quota this request draws on: the kind's, except that a host-move quota applies only
    when the key moves the license to a new host."""
    if rule.quota is QuotaRule.HOST_MOVES_PER_CONTRACT_YEAR:
        if req.host is None or host_problem(req.host) is not None:
            return None
        return rule.quota if key_hosts(rule, lic, req.host).license_moves_to else None
    return rule.quota


def _utc_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _end_of_day(d: date) -> datetime:
    return _utc_midnight(d + timedelta(days=1)) - timedelta(seconds=1)


def _local_day(d: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first and the last second of the calendar day `d` in `zone`, in UTC."""
    start = datetime.combine(d, time.min, zone)
    end = datetime.combine(d + timedelta(days=1), time.min, zone) - timedelta(seconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def key_expiry(lic: License) -> datetime | None:
    """The last instant any key of the license may be valid: the end of its expiry day (None:
    perpetual)."""
    return None if lic.expires_on is None else _end_of_day(lic.expires_on)


def evaluate(
    policy: Policy,
    lic: License,
    st: Standing,
    req: KeyRequestInput,
    *,
    now: datetime,
    quota: Quota | None,
    quota_in_use: int,
    keys: LicenseKeys | None = None,
) -> Decision:
    """Run every check of the table for req and return the Decision (pure: reads its arguments
    only). `quota` is the quota the request draws on (`quota_rule`), `quota_in_use` its use
    now, `keys` the license's usable keys. Checks, in the order a dry run lists them:
    contract_active, maintenance_current, plan_eligible, request_valid, replaces_a_key,
    window_possible, window_valid, quota_available, hosts_within_contract."""
    rule = rule_for(req.kind)
    keys = keys or LicenseKeys()
    today = st.today
    checks = [
        _contract_check(st),
        _maintenance_check(policy, st),
        _plan_check(rule, st),
        _request_check(rule, lic, req, today),
        _replaces_check(rule, lic, keys),
    ]
    window_checks, not_before, expires_at = _window(policy, rule, lic, st, req, now)
    checks.extend(window_checks)
    if quota is None:
        detail = "no quota applies"
        if rule.quota is QuotaRule.HOST_MOVES_PER_CONTRACT_YEAR:
            detail = "no quota applies: the license stays on its hosts"
        checks.append(Check("quota_available", "quota_exceeded", True, detail))
    else:
        ok = quota_in_use < quota.limit
        detail = f"{quota_in_use} of {quota.limit} {quota.counts} used"
        if not ok and quota.frees_at is not None:
            detail += f"; the next one frees on {utc_minute(quota.frees_at)}"
        elif not ok and quota.resets_on is not None:
            detail += f"; the count restarts on {quota.resets_on}"
        if not ok:
            detail += "; you may escalate the case for an analyst's review"
        checks.append(Check("quota_available", "quota_exceeded", ok, detail))
    hosts = None
    ended: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    chosen = req.host or default_host(rule, lic)
    if chosen is not None and host_problem(chosen) is None:
        hosts = key_hosts(rule, lic, req.host)
        host_check, ended = _hosts_check(policy, rule, lic, hosts, keys, not_before, expires_at)
        stops = _stops_working_on(hosts, keys, ended)
        checks.append(host_check)
    return Decision(
        tuple(checks),
        not_before,
        expires_at,
        quota,
        decided_at=now,
        hosts=hosts,
        ends_overlap_of=ended,
        stops_working_on=stops,
    )


def _stops_working_on(
    hosts: KeyHosts, keys: LicenseKeys, ended: tuple[str, ...]
) -> tuple[str, ...]:
    """The hosts where a key whose overlap ends stops working: none of the new key's hosts,
    nor the current key's (which stays usable through its own overlap)."""
    still = _still_covered(hosts, keys)
    stopping = [h for k in keys.in_overlap if k.serial in ended for h in k.hosts]
    return tuple(dict.fromkeys(h for h in stopping if h not in still))


def _still_covered(hosts: KeyHosts, keys: LicenseKeys) -> set[str]:
    """The hosts a license keeps once a primary key is issued: the new key's, and the current
    key's through the overlap it starts."""
    return set(_hosts_of(hosts)) | set(keys.primary.hosts if keys.primary else ())


def _contract_check(st: Standing) -> Check:
    problem = st.contract_problem()
    if problem is None:
        assert st.contract is not None
        problem_or_term = f"contract {st.contract.id} runs until {st.term_end}"
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
    if req.host is not None:
        bad_host = host_problem(req.host)
        if bad_host is not None:
            problems.append(bad_host)
    no_dr_host = dr_host_problem(rule, lic, req.host)
    if no_dr_host is not None:
        problems.append(no_dr_host)
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
        overridable=False,
    )


def _replaces_check(rule: KindRule, lic: License, keys: LicenseKeys) -> Check:
    if not rule.needs_key_to_replace:
        return Check("replaces_a_key", "no_key_to_replace", True, f"{rule.kind} keys replace none")
    current = keys.primary
    if current is None:
        return Check(
            "replaces_a_key",
            "no_key_to_replace",
            False,
            f"license {lic.id} has no usable key to replace; its first key is a standard key, "
            "issued by a support analyst (licensesvc key issue --kind standard)",
            overridable=False,
        )
    return Check("replaces_a_key", "no_key_to_replace", True, f"replaces key {current.serial}")


def _window(
    policy: Policy,
    rule: KindRule,
    lic: License,
    st: Standing,
    req: KeyRequestInput,
    now: datetime,
) -> tuple[list[Check], datetime | None, datetime | None]:
    """The window_possible check (no override: a test in the past, a window past the license's
    expiry), the window_valid check (the policy's lead days, the contract term) and the key's
    validity (not_before, expires_at). Windows are never shortened to fit: they are refused."""
    today = st.today
    not_before: datetime | None = now
    expires_at: datetime | None = None
    license_end = key_expiry(lic)
    term_end = st.term_end
    possible, possible_detail = True, "the key ends no later than the license"
    ok, detail = True, "no date window applies"
    if rule.window is Window.LICENSE_TERM:
        expires_at = license_end
        detail = (
            f"valid until the license expires ({lic.expires_on})"
            if lic.expires_on
            else "perpetual, like the license"
        )
    elif rule.window is Window.TEMPORARY_DAYS:
        expires_at = now + timedelta(days=TEMPORARY_KEY_DAYS)
        detail = f"valid {TEMPORARY_KEY_DAYS} days, until {utc_minute(expires_at)}"
        if license_end is not None and expires_at > license_end:
            possible = False
            possible_detail = (
                f"a {TEMPORARY_KEY_DAYS}-day key would run until {expires_at.date()}, past the "
                f"license's expiry on {lic.expires_on}; temporary keys are never shortened"
            )
        if (
            term_end is not None
            and not policy.temporary_may_outlive_contract
            and expires_at.date() > term_end
        ):
            ok = False
            detail = (
                f"a {TEMPORARY_KEY_DAYS}-day key would run until {expires_at.date()}, past the "
                f"contract end on {term_end}"
            )
    elif rule.window is Window.AROUND_DR_TEST and req.dr_test_date is not None:
        test = req.dr_test_date
        earliest = today + timedelta(days=policy.dr_min_lead_days)
        latest = today + timedelta(days=policy.dr_max_lead_days)
        first_day = test - timedelta(days=policy.dr_window_days_before)
        last_day = test + timedelta(days=policy.dr_window_days_after)
        # the customer's calendar days ("dates are the customer's"), never past the license
        zone = support_plan.REGIONS[st.customer.region].zone
        not_before = _local_day(first_day, zone)[0]
        expires_at = _local_day(last_day, zone)[1]
        if license_end is not None:
            expires_at = min(expires_at, license_end)
        if test < today:
            possible = False
            possible_detail = f"the test date {test} is in the past (today is {today})"
        elif lic.expires_on is not None and last_day > lic.expires_on:
            possible = False
            possible_detail = (
                f"the DR window {first_day} to {last_day} runs past the license's expiry on "
                f"{lic.expires_on}; DR windows are never shortened"
            )
        contract = st.contract
        if test < earliest:
            ok = False
            detail = (
                f"DR-test keys are requested in advance: the test date {test} must be on or "
                f"after {earliest}"
            )
        elif test > latest:
            ok = False
            detail = f"the test date {test} is more than {policy.dr_max_lead_days} days ahead"
        elif (
            contract is not None
            and term_end is not None
            and (first_day < contract.start_date or last_day > term_end)
        ):
            ok = False
            detail = (
                f"the DR window {first_day} to {last_day} around the test on {test} must lie "
                f"inside the contract term {contract.start_date} to {term_end}"
            )
        else:
            detail = f"valid from {first_day} to {last_day} around the test on {test}"
    checks = [
        Check("window_possible", "invalid_window", possible, possible_detail, overridable=False),
        Check("window_valid", "invalid_window", ok, detail),
    ]
    return checks, not_before, expires_at


def _hosts_check(
    policy: Policy,
    rule: KindRule,
    lic: License,
    hosts: KeyHosts,
    keys: LicenseKeys,
    not_before: datetime | None,
    expires_at: datetime | None,
) -> tuple[Check, tuple[str, ...]]:
    """The host invariant: a license is usable at once on its host (and failover host), during
    one replacement overlap the host it moves from, one DR-test host inside its window and the
    host of its one active temporary key; never more. Returns the check and the superseded keys
    whose overlap this key ends at once."""
    name, code = "hosts_within_contract", "quota_exceeded"
    if rule.primary:
        current = keys.primary
        ended = _overlaps_ended(hosts, keys)
        parts = [f"usable on {', '.join(_hosts_of(hosts))}"]
        if current is not None:
            parts.append(
                f"key {current.serial} stays usable on {', '.join(current.hosts)} for the "
                f"{policy.replacement_overlap_days}-day overlap"
            )
        parts.extend(_ended_words(hosts, keys, ended))
        return Check(name, code, True, "; ".join(parts)), ended
    if rule.host is HostRule.DR_HOST_ONLY:
        clash = [
            k
            for k in keys.of_kind(rule.kind)
            if k.host != hosts.host and k.overlaps(not_before, expires_at)
        ]
        if clash:
            other = clash[0]
            return (
                Check(
                    name,
                    code,
                    False,
                    f"the DR-test key {other.serial} for {other.host} is usable until "
                    f"{_until(other)}; one DR-test host at a time: choose a test date whose "
                    f"window does not overlap it, or test on {other.host}",
                    overridable=False,
                ),
                (),
            )
        bound = f"bound to the DR host {hosts.host}"
        if hosts.host == lic.failover_host:
            bound += ", the license's failover host"
        return Check(name, code, True, f"{bound}; one DR-test host in its window"), ()
    others = {k.host for k in keys.of_kind(rule.kind)} - {hosts.host}
    if others:
        return (
            Check(
                name,
                code,
                False,
                f"a temporary key is already usable on {', '.join(sorted(others))}; the host of "
                "one temporary key at a time",
                overridable=False,
            ),
            (),
        )
    return Check(name, code, True, f"one temporary-key host ({hosts.host})"), ()


def _ended_words(hosts: KeyHosts, keys: LicenseKeys, ended: tuple[str, ...]) -> list[str]:
    """What the hosts_within_contract check says of the overlaps a primary key ends: the keys
    whose host stops working now (a move during an overlap), and apart from them the keys
    whose hosts the license keeps (their overlap is redundant: nothing stops working)."""
    still = _still_covered(hosts, keys)
    overlap = [k for k in keys.in_overlap if k.serial in ended]
    cut = [k.serial for k in overlap if not set(k.hosts) <= still]
    kept = [k for k in overlap if set(k.hosts) <= still]
    words: list[str] = []
    stops = _stops_working_on(hosts, keys, ended)
    if stops:
        words.append(
            f"your key on {' and '.join(stops)} stops working now: the overlap of "
            f"{', '.join(cut)} ends (one overlap at a time)"
        )
    if kept:
        on = sorted({h for k in kept for h in k.hosts})
        words.append(
            f"the overlap of {', '.join(k.serial for k in kept)} ends now: the newer keys cover "
            f"{', '.join(on)}, so no host stops working"
        )
    return words


def _overlaps_ended(hosts: KeyHosts, keys: LicenseKeys) -> tuple[str, ...]:
    """The superseded keys whose overlap a new primary key ends at once, in issue order.

    A key that moves the license (the current key's hosts are not all the new key's) starts
    the overlap of the host it moves from, so every earlier overlap ends (one overlap at a
    time). Any primary key, a refresh on the current key's hosts included, also ends every
    overlap that is redundant: a superseded key whose hosts the new key or the current key (it
    starts its own overlap now) covers gives no host anything the newer keys do not, so
    refreshes never pile up usable keys. An overlap running for another host (a move in
    progress) keeps running through a refresh. What a license holds after any key request: its
    primary key, the key that key superseded, one overlap for a host it is moving from, its
    DR-test and temporary keys."""
    current = keys.primary
    moves = current is None or not set(current.hosts) <= set(_hosts_of(hosts))
    covered = _still_covered(hosts, keys)
    return tuple(k.serial for k in keys.in_overlap if moves or set(k.hosts) <= covered)


def _hosts_of(hosts: KeyHosts) -> tuple[str, ...]:
    return (hosts.host,) if hosts.failover_host is None else (hosts.host, hosts.failover_host)


def _until(key: UsableKey) -> str:
    return "its license ends" if key.until is None else utc_minute(key.until)


def rules_markdown() -> str:
    """RULES as the Markdown table docs/architecture.md shows (a test keeps the two equal)."""
    rows = [
        "| kind | needs | window | quota | hosts | plans | requested by | supersedes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in RULES.values():
        needs = [
            n
            for n, f in (
                ("reason", r.needs_reason),
                ("dr_test_date", r.needs_dr_test_date),
                ("a usable key to replace", r.needs_key_to_replace),
            )
            if f
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
