"""Best-effort clock-rollback detection for offline installers (docs/key-format.md section 9).

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

# How far behind the latest time seen the clock may be before it counts as rolled back.
# Small NTP corrections are normal; keeping an expired key alive needs days, not an hour.
ROLLBACK_TOLERANCE = timedelta(hours=1)
ANCHOR_CONTEXT = b"licensesvc/time-anchor/v1\n"
_HEADER = "licensesvc-time-anchor v1"
_LINE_RE = re.compile(r"licensesvc-time-anchor v1 (\S{20}) ([0-9a-f]{64})\n")


def _mac(secret: bytes, timestamp: str) -> str:
    return hmac.new(secret, ANCHOR_CONTEXT + timestamp.encode("ascii"), hashlib.sha256).hexdigest()


class TimeAnchor:
    """The latest verification time seen on this machine, persisted to a MAC'd file."""

    def __init__(
        self, path: Path | None, secret: bytes, latest_seen: datetime | None = None
    ) -> None:
        if path is not None and not secret:
            raise InvalidValue("a time anchor file needs a non-empty secret")
        self.path = None if path is None else Path(path)
        self._secret = secret
        self._latest_seen = (
            None if latest_seen is None else enc.check_aware(latest_seen, "latest_seen")
        )

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
        match = _LINE_RE.fullmatch(text)
        if match is None:
            raise ClockRollback("The time anchor file has been altered.")
        timestamp, mac = match.groups()
        if not hmac.compare_digest(mac, _mac(secret, timestamp)):
            raise ClockRollback("The time anchor file has been altered.")
        try:
            latest = enc.parse_timestamp(timestamp)
        except ValueError:  # pragma: no cover - a genuine MAC implies we wrote it
            raise ClockRollback("The time anchor file has been altered.") from None
        return cls(path, secret, latest)

    @classmethod
    def in_memory(cls, latest_seen: datetime | None = None) -> TimeAnchor:
        """Return an anchor that is never saved (for tests and short-lived processes)."""
        return cls(None, b"", latest_seen)

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
