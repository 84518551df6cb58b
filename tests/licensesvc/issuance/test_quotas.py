"""licensesvc/issuance/quotas.py: DR-test keys per contract year, temporary keys active at once."""

from __future__ import annotations

from datetime import timedelta

from tests.licensesvc.service_helpers import ask, refusal


def test_second_temporary_key_at_once_exceeds_quota(world, contexts):
    cust = contexts.customer(world.premium_customer)
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key
    assert refusal(ask(cust, world.premium_license, "temporary", reason="usage_spike")) == (
        "quota_exceeded"
    )
    contexts.clock.advance(days=121)  # the first one has expired: its slot is free again
    # contract still active? the world contract runs 335 days from start
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key


def test_dr_test_quota_per_contract_year(world, contexts):
    cust = contexts.customer(world.base_customer)
    day = contexts.clock.today + timedelta(days=20)
    for _ in range(2):
        assert ask(cust, world.base_license, "dr_test", dr_test_date=day).key
    third = ask(cust, world.base_license, "dr_test", dr_test_date=day)
    assert refusal(third) == "quota_exceeded"
    assert "2 of 2" in third.case.refusal_message


def test_revoking_a_temporary_key_frees_its_place_but_a_dr_key_stays_counted(world, contexts):
    from licensesvc.issuance.issued_keys import revoke_key

    cust = contexts.customer(world.premium_customer)
    temp = ask(cust, world.premium_license, "temporary", reason="usage_spike").key
    assert refusal(ask(cust, world.premium_license, "temporary", reason="usage_spike"))
    revoke_key(contexts.analyst(), temp.serial, "wrong server")
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key

    day = contexts.clock.today + timedelta(days=20)
    for _ in range(2):
        dr = ask(cust, world.premium_license, "dr_test", dr_test_date=day).key
    revoke_key(contexts.analyst(), dr.serial, "test moved")
    assert refusal(ask(cust, world.premium_license, "dr_test", dr_test_date=day)) == (
        "quota_exceeded"
    )
