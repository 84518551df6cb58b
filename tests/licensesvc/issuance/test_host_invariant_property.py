"""Property: no sequence of customer requests (replacements with and without new hosts, DR
tests, temporary keys, time passing) ever leaves a license usable on more hosts at once than
the contract allows: its host and failover host, during one overlap the host it moves from, one
DR-test host inside its window, and the host of its one active temporary key.

Bounded in CI; more examples: `LICENSESVC_HYPOTHESIS_PROFILE=thorough .venv/bin/python -m
pytest -p no:cacheprovider tests/licensesvc/issuance/test_host_invariant_property.py`."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from licensesvc.accounts import customers
from licensesvc.issuance.key_requests import license_keys
from licensesvc.models import License
from tests.licensesvc.service_helpers import ask, first_key

settings.register_profile(
    "ci",
    max_examples=15,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "thorough",
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = os.environ.get("LICENSESVC_HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI") else "dev"
)
settings.register_profile(
    "dev",
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

HOSTS = st.sampled_from(["h1.example", "h2.example", "h3.example", "h4.example", "h5.example"])
_names = itertools.count()


def test_no_sequence_of_requests_exceeds_the_host_invariant(analyst, contexts):
    class Customer(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.savepoint = contexts.session.begin_nested()
            contexts.clock.set(contexts.clock.current)
            today = contexts.clock.today
            c = customers.create_customer(analyst, f"Prop {next(_names)}", "emea")
            customers.create_contract(
                analyst,
                c.id,
                "premium",
                today - timedelta(days=10),
                today + timedelta(days=700),
                today + timedelta(days=700),
            )
            lic = customers.create_license(
                analyst, c.id, "JAMS", 5, 50, "home.example", failover_host="fail.example"
            )
            self.customer, self.license = c.id, lic.id
            first_key(analyst, lic.id)

        def teardown(self):
            if getattr(self, "savepoint", None) is not None and self.savepoint.is_active:
                self.savepoint.rollback()

        @property
        def ctx(self):
            return contexts.customer(self.customer)

        @rule(host=st.one_of(st.none(), HOSTS))
        def replacement(self, host):
            ask(self.ctx, self.license, "replacement", host=host)

        @rule(days_ahead=st.integers(-2, 40), host=HOSTS)
        def dr_test(self, days_ahead, host):
            day = contexts.clock.today + timedelta(days=days_ahead)
            ask(self.ctx, self.license, "dr_test", dr_test_date=day, host=host)

        @rule(host=st.one_of(st.none(), HOSTS))
        def temporary(self, host):
            ask(self.ctx, self.license, "temporary", reason="usage_spike", host=host)

        @rule(hours=st.integers(0, 24 * 30))
        def time_passes(self, hours):
            contexts.clock.advance(hours=hours)

        @invariant()
        def never_more_hosts_than_the_contract_allows(self):
            if not hasattr(self, "license"):
                return
            now = contexts.clock()
            lic = contexts.session.get(License, self.license)
            usable = [k for k in license_keys(analyst, lic, now).keys if k.usable_at(now)]
            primary = [
                k for k in usable if k.kind in ("standard", "replacement") and not k.superseded
            ]
            overlap = [k for k in usable if k.superseded]
            dr_hosts = {k.host for k in usable if k.kind == "dr_test"}
            temp_hosts = {k.host for k in usable if k.kind == "temporary"}
            # one overlap at a time: the host the license moves from (a refresh on the same
            # host overlaps only on hosts the license has anyway)
            moved_from = {h for k in overlap for h in k.hosts} - {lic.host, lic.failover_host}
            assert len(primary) <= 1 and len(moved_from) <= 1, usable
            # refreshes never pile up keys: the key superseded last and the one for the host
            # the license moves from, no more
            assert len(overlap) <= 2, usable
            if primary:
                assert set(primary[0].hosts) <= {lic.host, lic.failover_host}
            assert len(dr_hosts) <= 1 and len(temp_hosts) <= 1, usable
            allowed = {lic.host, lic.failover_host} | dr_hosts | temp_hosts
            allowed |= {h for k in overlap for h in k.hosts}
            hosts = {h for k in usable for h in k.hosts}
            assert hosts <= allowed
            assert len(hosts) <= 2 + 1 + 1 + 1, hosts

    run_state_machine_as_test(Customer, settings=settings.get_profile(PROFILE))
