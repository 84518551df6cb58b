"""An installer notices when the machine's clock was turned back to keep a key alive."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import keys
from tests.keys.keys_helpers import NOW, VENDOR, make_claims

SECRET = b"installer-secret"


def test_missing_anchor_file_is_a_fresh_anchor(tmp_path: Path) -> None:
    anchor = keys.TimeAnchor.load(tmp_path / "anchor", SECRET)
    assert anchor.latest_seen is None
    anchor.check_and_advance(NOW)
    assert (tmp_path / "anchor").exists()


def test_anchor_remembers_the_latest_time_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance(NOW)
    anchor = keys.TimeAnchor.load(path, SECRET)
    assert anchor.latest_seen == NOW
    anchor.check_and_advance(NOW - timedelta(minutes=30))  # within tolerance, not stored
    assert keys.TimeAnchor.load(path, SECRET).latest_seen == NOW


def test_clock_turned_back_beyond_the_tolerance_is_a_rollback(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance(NOW)
    anchor = keys.TimeAnchor.load(path, SECRET)
    with pytest.raises(keys.ClockRollback) as info:
        anchor.check_and_advance(NOW - keys.ROLLBACK_TOLERANCE - timedelta(seconds=1))
    assert info.value.code == "clock_rollback"


def test_verify_with_a_file_anchor_detects_rollback(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    key = keys.sign_key(make_claims(), VENDOR)
    keys.verify(key, [VENDOR.public_key], at=NOW, anchor=keys.TimeAnchor.load(path, SECRET))
    with pytest.raises(keys.ClockRollback) as info:
        keys.verify(
            key,
            [VENDOR.public_key],
            at=NOW - timedelta(days=2),
            anchor=keys.TimeAnchor.load(path, SECRET),
        )
    assert info.value.claims is not None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.replace("2025-06-01", "2025-01-01"),
        lambda text: text[:-2] + ("0" if text[-2] != "0" else "1") + "\n",
        lambda text: "",
        lambda text: "garbage\n",
        lambda text: text.replace(" v1 ", " v2 "),
    ],
)
def test_tampered_anchor_file_is_reported_as_rollback(tmp_path: Path, tamper: object) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance(NOW)
    path.write_text(tamper(path.read_text()))
    with pytest.raises(keys.ClockRollback):
        keys.TimeAnchor.load(path, SECRET)


def test_anchor_file_with_another_secret_is_reported_as_rollback(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance(NOW)
    with pytest.raises(keys.ClockRollback):
        keys.TimeAnchor.load(path, b"another secret")


def test_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        keys.TimeAnchor.in_memory().check_and_advance(NOW.replace(tzinfo=None))


def numbered_list(sequence: int, *entries: keys.RevokedEntry) -> keys.RevocationList:
    text = keys.sign_revocation_list(
        keys.RevocationList(
            NOW - timedelta(hours=1), NOW + timedelta(days=7), entries, sequence=sequence
        ),
        VENDOR,
    )
    return keys.verify_revocation_list(text, [VENDOR.public_key], at=NOW)


def test_the_anchor_remembers_the_newest_revocation_list_and_refuses_an_older_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "anchor"
    claims = make_claims()
    key = keys.sign_key(claims, VENDOR)
    trusted = [VENDOR.public_key]
    revoked = keys.RevokedEntry(
        claims.serial, "revoked", NOW - timedelta(minutes=5), "key_compromise"
    )
    older, newer = numbered_list(6), numbered_list(7, revoked)
    with pytest.raises(keys.Revoked):  # the installer sees the current list
        keys.verify(
            key, trusted, at=NOW, revocations=newer, anchor=keys.TimeAnchor.load(path, SECRET)
        )
    anchor = keys.TimeAnchor.load(path, SECRET)  # another run of the installer
    assert anchor.revocation_sequence == 7
    assert path.read_text().startswith("licensesvc-time-anchor v2 ")
    with pytest.raises(keys.StaleRevocationList) as info:  # yesterday's list, without the key
        keys.verify(key, trusted, at=NOW, revocations=older, anchor=anchor)
    assert info.value.code == "stale_revocation_list"
    assert "number 6, older than number 7" in info.value.message
    unnumbered = keys.verify_revocation_list(
        keys.sign_revocation_list(
            keys.RevocationList(NOW - timedelta(hours=1), NOW + timedelta(days=7), ()), VENDOR
        ),
        trusted,
        at=NOW,
    )
    with pytest.raises(keys.StaleRevocationList):  # a list signed before sequence numbers
        keys.verify(key, trusted, at=NOW, revocations=unnumbered, anchor=anchor)
    # without an anchor nothing is remembered: the older list is all this run knows
    assert keys.verify(key, trusted, at=NOW, revocations=older).serial == claims.serial


def test_a_version_1_anchor_file_is_read_with_no_list_seen(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance(NOW)
    assert path.read_text().startswith("licensesvc-time-anchor v1 ")
    anchor = keys.TimeAnchor.load(path, SECRET)
    assert (anchor.latest_seen, anchor.revocation_sequence) == (NOW, 0)


def test_a_lowered_sequence_in_the_anchor_file_is_reported_as_rollback(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    keys.TimeAnchor.load(path, SECRET).check_and_advance_revocations(numbered_list(17))
    line = path.read_text()
    path.write_text(line.replace(" 17 ", " 16 "))
    with pytest.raises(keys.ClockRollback):
        keys.TimeAnchor.load(path, SECRET)
