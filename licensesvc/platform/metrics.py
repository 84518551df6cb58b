"""What the services count, told to whoever listens: a service says `count(session, name,
label=value)` where the thing happens, and the count is passed on once the transaction has
committed (a rolled-back grant counts nothing). The web process subscribes its Prometheus
counters (licensesvc/observability.py); the CLI subscribes none."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from .transactions import after_commit

#: a subscriber: the counter's name and its labels
Sink = Callable[[str, dict[str, str]], None]

_SINKS: list[Sink] = []

#: the names counted
KEYS_ISSUED = "keys_issued"
REFUSALS = "refusals"
#: the change feed (platform/changefeed.py) reads the audit head again / has lost it
CHANGE_FEED_UP = "change_feed_up"
CHANGE_FEED_DOWN = "change_feed_down"
#: a verify answered from the database because the change feed was lost
SNAPSHOT_BYPASSED = "snapshot_bypassed"


def subscribe(sink: Sink) -> None:
    """Have sink(name, labels) called for every count committed in this process (once per
    sink, however often subscribed)."""
    if sink not in _SINKS:
        _SINKS.append(sink)


def count(session: Session, name: str, **labels: str) -> None:
    """Count one `name` with `labels` once session's transaction commits."""
    if not _SINKS:
        return
    after_commit(session, lambda: _tell(name, labels))


def tell(name: str, **labels: str) -> None:
    """Tell `name` with `labels` to the sinks now: what no transaction decides (the health of
    the change feed)."""
    if _SINKS:
        _tell(name, labels)


def _tell(name: str, labels: dict[str, str]) -> None:
    for sink in _SINKS:
        sink(name, labels)
