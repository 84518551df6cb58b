"""A customer mid-move keeps the old server until the overlap ends: a refresh on the same host
never ends an overlap running for another host, and a request that does end one says first
"your key on HOST stops working now" (the dry run lists it)."""

from __future__ import annotations

from datetime import timedelta

import keys
from licensesvc.issuance import signing
from licensesvc.issuance.issued_keys import revoke_key
from licensesvc.issuance.key_requests import (
    Decision,
    KeyRequestInput,
    explain_request,
)
from licensesvc.issuance.revocation_lists import current_or_rebuild
from tests.conftest import Contexts, World
from tests.licensesvc.service_helpers import ask, first_key


def _moved(world: World, contexts: Contexts, analyst):
    """Acme's license moved from sched.acme.example to new.acme.example: the old key runs on
    the old server through its overlap."""
    old = first_key(analyst, world.base_license)
    cust = contexts.customer(world.base_customer)
    moved = ask(cust, world.base_license, "replacement", host="new.acme.example")
    assert moved.case.status == "granted"
    return cust, old, moved.key


def test_a_refresh_on_the_same_host_keeps_the_old_servers_overlap(
    world: World, contexts: Contexts, analyst
) -> None:
    cust, old, _ = _moved(world, contexts, analyst)
    contexts.clock.advance(days=2)
    req = KeyRequestInput(world.base_license, "replacement", host="new.acme.example")
    dry = explain_request(cust, req)
    assert isinstance(dry, Decision) and dry.ends_overlap_of == () and dry.stops_working_on == ()
    refreshed = ask(cust, world.base_license, "replacement", host="new.acme.example")
    assert refreshed.case.status == "granted"
    contexts.session.refresh(old)
    # the old server still verifies its key until the overlap the move started ends
    trusted = signing.trusted_public_keys(analyst)
    at = contexts.clock() + timedelta(days=1)
    assert old.usable_until is not None and old.usable_until > at
    keys.verify(old.key_text, trusted, at=at, host="sched.acme.example")


def test_a_move_during_an_overlap_says_the_old_server_stops_working_now(
    world: World, contexts: Contexts, analyst
) -> None:
    cust, old, _ = _moved(world, contexts, analyst)
    req = KeyRequestInput(world.base_license, "replacement", host="third.acme.example")
    dry = explain_request(cust, req)
    assert isinstance(dry, Decision) and dry.refusal is None
    assert dry.ends_overlap_of == (old.serial,)
    assert dry.stops_working_on == ("sched.acme.example",)
    detail = next(c.detail for c in dry.checks if c.name == "hosts_within_contract")
    assert (
        f"your key on sched.acme.example stops working now: the overlap of {old.serial} ends"
        in detail
    )
    ask(cust, world.base_license, "replacement", host="third.acme.example")
    contexts.session.refresh(old)
    assert old.usable_until == contexts.clock()


def test_an_overlap_ended_by_a_key_that_supersedes_none_reaches_the_revocation_list(
    world: World, contexts: Contexts, analyst
) -> None:
    """The moved-to key is revoked, so the license has no active key; the standard key an
    analyst then issues for a third host ends the old server's overlap without superseding
    anything: the stored revocation list must not go on saying the old key is usable."""
    _cust, old, moved = _moved(world, contexts, analyst)
    revoke_key(analyst, moved.serial, "lost with the server")
    contexts.session.commit()
    assert current_or_rebuild(analyst) is not None  # the list stored, the overlap running
    contexts.session.commit()
    issued = ask(analyst, world.base_license, "standard", host="third.acme.example")
    assert issued.case.status == "granted"
    contexts.session.commit()
    contexts.session.refresh(old)
    assert old.usable_until == contexts.clock()
    served = current_or_rebuild(analyst)
    trusted = signing.trusted_public_keys(analyst)
    listed = keys.verify_revocation_list(served.text, trusted, at=contexts.clock())
    entry = listed.entry_for(old.serial)
    assert entry is not None and entry.revoked_at == contexts.clock(), entry
