"""Best-effort clock-rollback detection for offline installers (docs/key-format.md section 9),
and, beside the time, the highest revocation-list sequence seen (section 8): an older list is
refused.

Limits, stated plainly: deleting the anchor file resets it; restoring an older genuine file
rolls it back; the MAC secret lives on the same machine as the file. It raises the bar for
"set the clock back to keep an expired key working", it does not make that impossible.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from keys import _encoding as enc
from keys.errors import ClockRollback, InvalidValue

if TYPE_CHECKING:
    from keys.claims import Claims
    from keys.revocation import RevocationList

# How far behind the latest time seen the clock may be before it counts as rolled back.
# Small NTP corrections are normal; keeping an expired key alive needs days, not an hour.
ROLLBACK_TOLERANCE = timedelta(hours=1)
ANCHOR_CONTEXT = b"licensesvc/time-anchor/v1\n"
#: the file once a revocation-list sequence has been seen: the time and that sequence
ANCHOR_V2_CONTEXT = b"licensesvc/time-anchor/v2\n"
_HEADER = "licensesvc-time-anchor v1"
_HEADER_V2 = "licensesvc-time-anchor v2"
_LINE_RE = re.compile(r"licensesvc-time-anchor v1 (\S{20}) ([0-9a-f]{64})\n")
_LINE_V2_RE = re.compile(r"licensesvc-time-anchor v2 (\S{20}) ([1-9][0-9]{0,15}) ([0-9a-f]{64})\n")


def _mac(secret: bytes, timestamp: str) -> str:
    return hmac.new(secret, ANCHOR_CONTEXT + timestamp.encode("ascii"), hashlib.sha256).hexdigest()


def _mac_v2(secret: bytes, timestamp: str, sequence: str) -> str:
    message = ANCHOR_V2_CONTEXT + f"{timestamp} {sequence}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class TimeAnchor:
    """The latest verification time seen on this machine and the highest revocation-list
    sequence seen (0: none), persisted to a MAC'd file."""

    def __init__(
        self,
        path: Path | None,
        secret: bytes,
        latest_seen: datetime | None = None,
        *,
        revocation_sequence: int = 0,
    ) -> None:
        if path is not None and not secret:
            raise InvalidValue("a time anchor file needs a non-empty secret")
        if type(revocation_sequence) is not int or revocation_sequence < 0:
            raise InvalidValue("revocation_sequence must be a whole number, 0 or more")
        self.path = None if path is None else Path(path)
        self._secret = secret
        self._latest_seen = (
            None if latest_seen is None else enc.check_aware(latest_seen, "latest_seen")
        )
        self._revocation_sequence = revocation_sequence

    @classmethod
    def load(cls, path: Path, secret: bytes) -> TimeAnchor:
        """Return the anchor stored at ``path``; a missing file gives a fresh anchor.

        Raises ClockRollback when the file exists but is unreadable, malformed or its MAC does
        not verify (an edited anchor is treated as an attempt to move it back); ValueError
        for an empty secret.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return cls(path, secret)
        except (OSError, UnicodeDecodeError):
            raise ClockRollback("The time anchor file could not be read.") from None
        sequence = "0"
        match = _LINE_RE.fullmatch(text)
        if match is not None:
            timestamp, mac = match.groups()
            expected = _mac(secret, timestamp)
        else:
            match = _LINE_V2_RE.fullmatch(text)
            if match is None:
                raise ClockRollback("The time anchor file has been altered.")
            timestamp, sequence, mac = match.groups()
            expected = _mac_v2(secret, timestamp, sequence)
        if not hmac.compare_digest(mac, expected):
            raise ClockRollback("The time anchor file has been altered.")
        try:
            latest = enc.parse_timestamp(timestamp)
        except ValueError:  # pragma: no cover - a genuine MAC implies we wrote it
            raise ClockRollback("The time anchor file has been altered.") from None
        return cls(path, secret, latest, revocation_sequence=int(sequence))

    @classmethod
    def in_memory(
        cls, latest_seen: datetime | None = None, *, revocation_sequence: int = 0
    ) -> TimeAnchor:
        """Return an anchor that is never saved (for tests and short-lived processes)."""
        return cls(None, b"", latest_seen, revocation_sequence=revocation_sequence)

    @property
    def revocation_sequence(self) -> int:
        """The highest revocation-list sequence seen so far, 0 when none."""
        return self._revocation_sequence

    def check_and_advance_revocations(
        self, rl: RevocationList, *, claims: Claims | None = None
    ) -> None:
        """Refuse a revocation list older than the newest seen, else remember its sequence
        (saving the file if it moved). Returns None. Raises StaleRevocationList when
        ``rl.sequence`` is below the highest seen; OSError if the file cannot be written."""
        from keys.revocation import check_not_older_than_seen

        check_not_older_than_seen(rl, self._revocation_sequence, claims=claims)
        if rl.sequence > self._revocation_sequence:
            self._revocation_sequence = rl.sequence
            if self._latest_seen is None:
                # the file needs a time: the list was signed then, so that time has passed
                self._latest_seen = rl.issued_at.replace(microsecond=0)
            self._save()

    @property
    def latest_seen(self) -> datetime | None:
        """The latest time seen so far (UTC, whole seconds), None for a fresh anchor."""
        return self._latest_seen

    def check(self, now: datetime, *, claims: Claims | None = None) -> None:
        """Return None if ``now`` is not rolled back; raise ClockRollback otherwise.

        Does not advance or save the anchor. Raises InvalidValue for a naive ``now``.
        """
        now = enc.check_aware(now, "now")
        latest = self._latest_seen
        # A difference, not a sum, so that year 1 or 9999 cannot overflow.
        if latest is not None and latest - now > ROLLBACK_TOLERANCE:
            raise ClockRollback(
                f"The clock says {enc.format_timestamp(now)}, but "
                f"{enc.format_timestamp(latest)} was already seen here.",
                claims=claims,
            )

    def check_and_advance(self, now: datetime, *, claims: Claims | None = None) -> None:
        """Check ``now`` and remember max(now, latest seen), saving the file if it moved.

        Returns None. Raises ClockRollback if ``now`` is more than ROLLBACK_TOLERANCE behind
        the latest time seen; OSError if the file cannot be written; ValueError if naive.
        """
        self.check(now, claims=claims)
        now = enc.check_aware(now, "now")
        if self._latest_seen is None or now > self._latest_seen:
            self._latest_seen = now
            self._save()

    def _save(self) -> None:
        if self.path is None or self._latest_seen is None:
            return
        timestamp = enc.format_timestamp(self._latest_seen)
        if self._revocation_sequence:
            sequence = str(self._revocation_sequence)
            mac = _mac_v2(self._secret, timestamp, sequence)
            line = f"{_HEADER_V2} {timestamp} {sequence} {mac}\n"
        else:
            line = f"{_HEADER} {timestamp} {_mac(self._secret, timestamp)}\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half-written (= "tampered") file.
        fd, tmp_name = tempfile.mkstemp(prefix=".anchor-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as tmp:
                tmp.write(line)
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
