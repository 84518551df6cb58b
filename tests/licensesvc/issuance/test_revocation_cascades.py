"""licensesvc/issuance/revocation_cascades.py: the compact revocation list and its deltas, as
an offline installer uses them (docs/key-format.md section 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import keys
from licensesvc.issuance import (
    BaseReplaced,
    current_or_rebuild_cascade,
    delta_since,
    signing,
)
from licensesvc.issuance.issued_keys import revoke_key
from licensesvc.issuance.revocation_cascades import COVERAGE_MARGIN, build_filter, rebuild
from tests.licensesvc.service_helpers import ask

LATER = COVERAGE_MARGIN + timedelta(seconds=1)


def test_an_installer_with_the_cascade_refuses_a_revoked_key_and_accepts_the_rest(
    world, analyst, contexts
):
    kept = ask(analyst, world.base_license, "standard").key
    leaked = ask(analyst, world.premium_license, "standard").key
    revoke_key(analyst, leaked.serial, "leaked")
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    stored = current_or_rebuild_cascade(analyst, "https://licenses.example")
    cascade = keys.verify_revocation_cascade(stored.data, trusted, at=contexts.clock())
    assert (cascade.count, cascade.server) == (2, "https://licenses.example")
    assert keys.verify(kept.key_text, trusted, at=contexts.clock(), revocations=cascade)
    with pytest.raises(keys.Revoked):
        keys.verify(leaked.key_text, trusted, at=contexts.clock(), revocations=cascade)


def test_a_key_issued_after_the_base_is_unknown_until_a_delta_covers_it(world, analyst, contexts):
    ask(analyst, world.base_license, "standard")
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    base = current_or_rebuild_cascade(analyst, "https://licenses.example")
    fresh = ask(analyst, world.premium_license, "standard").key
    cascade = keys.verify_revocation_cascade(base.data, trusted, at=contexts.clock())
    with pytest.raises(keys.UnknownToList, match="licenses.example") as caught:
        keys.verify(fresh.key_text, trusted, at=contexts.clock(), revocations=cascade)
    assert caught.value.code == "unknown_to_list"
    contexts.clock.advance(seconds=LATER.total_seconds())
    delta = delta_since(analyst, base.generation)
    updated = keys.verify_revocation_cascade(
        base.data, trusted, deltas=[delta], at=contexts.clock()
    )
    assert keys.verify(fresh.key_text, trusted, at=contexts.clock(), revocations=updated)
    # revoked after the base: the next delta says so
    revoke_key(analyst, fresh.serial, "issued in error")
    later = delta_since(analyst, updated.generation)
    newest = updated.with_delta(keys.cascade.read_piece(later, trusted))
    with pytest.raises(keys.Revoked):
        keys.verify(fresh.key_text, trusted, at=contexts.clock(), revocations=newest)


def test_deltas_apply_in_order_and_a_gap_or_another_base_is_refused(world, analyst, contexts):
    ask(analyst, world.base_license, "standard")
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    base = current_or_rebuild_cascade(analyst)
    contexts.clock.advance(seconds=5)
    first = delta_since(analyst, base.generation)
    first_generation = keys.cascade.read_piece(first, trusted).header.generation
    contexts.clock.advance(seconds=5)
    second = delta_since(analyst, first_generation)
    assert keys.verify_revocation_cascade(
        base.data, trusted, deltas=[first, second], at=contexts.clock()
    )
    with pytest.raises(keys.RevocationDeltaRefused, match="missing"):
        keys.verify_revocation_cascade(base.data, trusted, deltas=[second], at=contexts.clock())
    with pytest.raises(keys.RevocationDeltaRefused, match="missing"):  # applied twice
        keys.verify_revocation_cascade(
            base.data, trusted, deltas=[first, first], at=contexts.clock()
        )
    contexts.clock.advance(seconds=5)
    newer_base = rebuild(analyst)
    other = delta_since(analyst, newer_base.generation)
    with pytest.raises(keys.RevocationDeltaRefused, match="base"):
        keys.verify_revocation_cascade(base.data, trusted, deltas=[other], at=contexts.clock())
    with pytest.raises(BaseReplaced):  # the server will not extend a replaced base
        delta_since(analyst, first_generation)


def test_a_superseded_key_works_through_its_overlap_and_fails_after(world, analyst, contexts):
    first = ask(analyst, world.base_license, "standard").key
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    base = current_or_rebuild_cascade(analyst)
    cascade = keys.verify_revocation_cascade(base.data, trusted, at=contexts.clock())
    assert keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=cascade)
    # a fortnight later the base is stale (7 days); a delta of it carries the overlap's end
    contexts.clock.advance(days=15)
    delta = delta_since(analyst, base.generation)
    updated = keys.verify_revocation_cascade(
        base.data, trusted, deltas=[delta], at=contexts.clock()
    )
    with pytest.raises(keys.Revoked, match="overlap ended"):
        keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=updated)


def test_a_stale_cascade_is_refused_and_names_the_server(world, analyst, contexts):
    key = ask(analyst, world.base_license, "standard").key
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    base = current_or_rebuild_cascade(analyst, "https://licenses.example")
    cascade = keys.verify_revocation_cascade(base.data, trusted, at=contexts.clock())
    with pytest.raises(keys.StaleRevocationList, match="https://licenses.example"):
        keys.verify(
            key.key_text, trusted, at=contexts.clock() + timedelta(days=8), revocations=cascade
        )


def test_a_tampered_cascade_is_refused(world, analyst, contexts):
    ask(analyst, world.base_license, "standard")
    contexts.clock.advance(seconds=LATER.total_seconds())
    trusted = signing.trusted_public_keys(analyst)
    data = bytearray(current_or_rebuild_cascade(analyst).data)
    data[-80] ^= 1  # a bit of the filter
    with pytest.raises(keys.BadSignature):
        keys.verify_revocation_cascade(bytes(data), trusted, at=contexts.clock())
    with pytest.raises(keys.MalformedKey):
        keys.verify_revocation_cascade(bytes(data[:-1]), trusted, at=contexts.clock())


@pytest.mark.parametrize(
    ("revoked", "others"),
    [(set(), {b"a", b"b"}), ({b"a", b"b"}, set()), (set(), set()), ({b"a"}, {b"b"})],
    ids=["nothing revoked", "everything revoked", "no keys", "one each"],
)
def test_a_filter_over_an_empty_side_still_has_a_layer_and_answers_exactly(revoked, others):
    """filtercascade writes no layer when one side is empty, which rust-cascade refuses: the
    server writes one empty layer instead (inverted when everything is revoked)."""
    data = build_filter(revoked, others, b"salt")
    reader = keys.FilterCascade.from_bytes(data)
    assert reader.layer_count >= 1
    assert all(item in reader for item in revoked)
    assert not any(item in reader for item in others)


def test_the_configured_public_url_is_signed_into_a_base_built_without_a_request(
    world, analyst, contexts, tmp_path
):
    from dataclasses import replace

    from licensesvc.config import Settings
    from licensesvc.platform.context import ServiceContext

    env = {
        "LICENSESVC_PUBLIC_URL": " https://licenses.vendor.example ",
        "LICENSESVC_DATA_DIR": str(tmp_path),
    }
    public_url = Settings.from_env(env).public_url
    assert public_url == "https://licenses.vendor.example"
    ask(analyst, world.base_license, "standard")
    contexts.clock.advance(seconds=LATER.total_seconds())
    configured = ServiceContext(
        analyst.session,
        replace(analyst.settings, public_url=public_url),
        analyst.actor,
        analyst.clock,
    )
    trusted = signing.trusted_public_keys(analyst)
    base = current_or_rebuild_cascade(configured)  # as `revocations export --format cascade`
    cascade = keys.verify_revocation_cascade(base.data, trusted, at=contexts.clock())
    assert cascade.server == "https://licenses.vendor.example"
