"""domain/policy.py, pure: which overlaps a new primary key ends. A refresh on the license's
hosts ends every overlap the newer keys make redundant, so refreshing never piles up usable
keys; an overlap for a host the license is moving from keeps running through refreshes; a
move ends every earlier overlap and says which server stops working."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from licensesvc.config import Policy
from licensesvc.domain import KeyKind, policy
from licensesvc.domain.policy import Decision, KeyRequestInput, LicenseKeys, UsableKey
from licensesvc.domain.standing import Standing
from licensesvc.models import Contract, ContractPayment, Customer, License

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
OVERLAP = timedelta(days=Policy().replacement_overlap_days)


def _license(host: str = "app01", failover: str | None = "app02") -> License:
    return License(id=7, customer_id=1, host=host, failover_host=failover, expires_on=None)


def _standing() -> Standing:
    contract = Contract(
        id=3,
        plan="premium",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        payments=[ContractPayment(paid_through=date(2026, 12, 31))],
        grace_days=None,
    )
    return Standing(Customer(id=1, name="Acme", region="na"), contract, NOW.date())


def _key(
    serial: str,
    host: str = "app01",
    failover: str | None = "app02",
    *,
    superseded: bool = False,
    kind: KeyKind = KeyKind.REPLACEMENT,
) -> UsableKey:
    return UsableKey(
        serial=serial,
        kind=kind,
        host=host,
        failover_host=failover,
        not_before=NOW - timedelta(days=1),
        until=NOW + OVERLAP if superseded else None,
        superseded=superseded,
    )


def _decide(lic: License, keys: LicenseKeys, host: str | None = None) -> Decision:
    req = KeyRequestInput(lic.id, "replacement", host=host)
    quota = None
    if policy.quota_rule(policy.rule_for("replacement"), lic, req) is not None:
        quota = policy.Quota("license", 4, frees_on_expiry=False, counts="host moves")
    decision = policy.evaluate(
        Policy(), lic, _standing(), req, now=NOW, quota=quota, quota_in_use=0, keys=keys
    )
    assert decision.refusal is None, decision.refusal
    return decision


def _hosts_detail(decision: Decision) -> str:
    return next(c.detail for c in decision.checks if c.name == "hosts_within_contract")


def _issue(lic: License, keys: LicenseKeys, decision: Decision, serial: str) -> LicenseKeys:
    """What issuance does with a granted primary key's decision, as the policy sees the keys
    afterwards: the ended overlaps are over, the current key is superseded (in its overlap),
    the new key is the license's primary key; the license follows a move."""
    assert decision.hosts is not None
    if decision.hosts.license_moves_to is not None:
        lic.host = decision.hosts.license_moves_to
    kept = []
    for k in keys.keys:
        if k.serial in decision.ends_overlap_of:
            continue
        if k is keys.primary:
            k = replace(k, superseded=True, until=NOW + OVERLAP)
        kept.append(k)
    new = _key(serial, decision.hosts.host, decision.hosts.failover_host)
    return LicenseKeys((*kept, new))


def test_a_refresh_ends_the_overlap_the_newer_keys_make_redundant() -> None:
    keys = LicenseKeys((_key("SN-OLD", superseded=True), _key("SN-CUR")))
    decision = _decide(_license(), keys)
    assert decision.ends_overlap_of == ("SN-OLD",)
    # nothing stops working: the new key and SN-CUR (now in its overlap) cover app01 and app02
    assert decision.stops_working_on == ()
    detail = _hosts_detail(decision)
    assert "key SN-CUR stays usable on app01, app02 for the 14-day overlap" in detail
    assert (
        "the overlap of SN-OLD ends now: the newer keys cover app01, app02, so no host stops "
        "working" in detail
    )
    assert "stops working now" not in detail


def test_a_refresh_naming_the_failover_host_is_a_refresh_too() -> None:
    keys = LicenseKeys((_key("SN-OLD", superseded=True), _key("SN-CUR")))
    decision = _decide(_license(), keys, host="app02")
    assert decision.hosts == policy.KeyHosts("app02", "app01", None)
    assert decision.ends_overlap_of == ("SN-OLD",) and decision.stops_working_on == ()


def test_a_refresh_keeps_the_overlap_of_the_host_the_license_moves_from() -> None:
    """Moved from old01 to app01 (SN-MOVED-FROM runs on old01 through its overlap); refreshed
    once since (SN-REFRESHED, on app01, in its overlap); a second refresh ends only the
    redundant overlap."""
    keys = LicenseKeys(
        (
            _key("SN-MOVED-FROM", "old01", superseded=True),
            _key("SN-REFRESHED", superseded=True),
            _key("SN-CUR"),
        )
    )
    decision = _decide(_license(), keys)
    assert decision.ends_overlap_of == ("SN-REFRESHED",)
    assert decision.stops_working_on == ()
    assert "old01" not in _hosts_detail(decision)


def test_a_move_ends_every_earlier_overlap_and_names_the_server_that_stops() -> None:
    keys = LicenseKeys(
        (
            _key("SN-MOVED-FROM", "old01", superseded=True),
            _key("SN-REFRESHED", superseded=True),
            _key("SN-CUR"),
        )
    )
    decision = _decide(_license(), keys, host="new01")
    assert decision.ends_overlap_of == ("SN-MOVED-FROM", "SN-REFRESHED")
    assert decision.stops_working_on == ("old01",)
    detail = _hosts_detail(decision)
    assert (
        "your key on old01 stops working now: the overlap of SN-MOVED-FROM ends (one overlap "
        "at a time)" in detail
    )
    # SN-REFRESHED's hosts stay covered (SN-CUR runs on them through its own overlap)
    assert (
        "the overlap of SN-REFRESHED ends now: the newer keys cover app01, app02, so no host "
        "stops working" in detail
    )


def test_dr_test_and_temporary_keys_are_no_overlap_a_refresh_ends() -> None:
    keys = LicenseKeys(
        (
            _key("SN-DR", "app02", None, kind=KeyKind.DR_TEST),
            _key("SN-TEMP", kind=KeyKind.TEMPORARY),
            _key("SN-CUR"),
        )
    )
    decision = _decide(_license(), keys)
    assert decision.ends_overlap_of == () and decision.stops_working_on == ()


@pytest.mark.parametrize("refreshes", [1, 2, 5, 50])
def test_refreshes_leave_the_primary_key_and_the_one_it_superseded(refreshes: int) -> None:
    lic = _license()
    keys = LicenseKeys((_key("SN-0", kind=KeyKind.STANDARD),))
    for n in range(1, refreshes + 1):
        keys = _issue(lic, keys, _decide(lic, keys), f"SN-{n}")
    assert [(k.serial, k.superseded) for k in keys.keys] == [
        (f"SN-{refreshes - 1}", True),
        (f"SN-{refreshes}", False),
    ]


def test_a_move_then_refreshes_keep_one_overlap_for_the_old_host() -> None:
    """What a license holds at most: its primary key, the key it superseded last, one overlap
    for the host it is moving from."""
    lic = _license()
    keys = LicenseKeys((_key("SN-0", kind=KeyKind.STANDARD),))
    keys = _issue(lic, keys, _decide(lic, keys, host="new01"), "SN-MOVE")
    assert lic.host == "new01"
    for n in range(1, 6):
        keys = _issue(lic, keys, _decide(lic, keys), f"SN-{n}")
        serials = [(k.serial, k.hosts, k.superseded) for k in keys.keys]
        previous = "SN-MOVE" if n == 1 else f"SN-{n - 1}"
        assert serials == [
            ("SN-0", ("app01", "app02"), True),
            (previous, ("new01", "app02"), True),
            (f"SN-{n}", ("new01", "app02"), False),
        ]
