"""The compact revocation list for large fleets: a signed filter cascade over every unexpired
key the server issued, and signed deltas against it (docs/key-format.md section 14).

The base is built with Mozilla's `filtercascade` package (SHA-256 hashing, a random salt per
base), checked against every key it was built over before it is signed (it must be exact: no
false positive, no false negative), and stored in the one row of `revocation_cascades`.
`licensesvc revocations export --format cascade` rebuilds the stored base when it is missing,
signed by a key that is no longer the active one, or older than BASE_MAX_AGE (run it daily from
cron); `GET /v1/revocations/cascade` serves the stored base until it has less than
SERVE_AT_LEAST of validity left (or is missing, or signed by a retired key), and only then
rebuilds it in the request: building the base of a million keys takes tens of seconds
(docs/performance.md), too long to do in a request every day. Between
rebuilds, revocations reach installers as deltas (`delta_since`), signed on request: each
lists every key revoked or superseded since the base was built, so any delta of the current
base brings a verifier up to date, and a key issued after the base is covered by the delta.

A key is filed in the filter under its serial (UTF-8). The base covers the keys issued up to
its `covered_through` (COVERAGE_MARGIN before it was built, so that a key whose transaction was
still open while the base was read is not taken for covered); later keys get `unknown_to_list`
until a delta covers them.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

import keys
from keys.cascade import CascadeHeader, FilterCascade, cascade_item, sign_cascade
from licensesvc.domain import KeyStatus
from licensesvc.domain.errors import Conflict, NotConfigured, NotFound, ValidationFailed
from licensesvc.models import IssuedKey, RevocationCascadeCopy
from licensesvc.platform.context import ServiceContext

from .signing import active_record, active_signer

#: the id of the one stored base
ROW_ID = 1
#: the base covers keys issued this long before it was built (a key request's transaction
#: commits well within it); later keys are covered by deltas
COVERAGE_MARGIN = timedelta(minutes=2)
#: a base older than this is rebuilt by the next reader; deltas carry the revocations between
BASE_MAX_AGE = timedelta(days=1)
#: the API serves a stored base as long as installers get at least this much validity from it
SERVE_AT_LEAST = timedelta(days=1)
#: the filter's salt length in bytes (random per base)
SALT_BYTES = 16


@dataclass(frozen=True)
class StoredCascade:
    """A signed base as stored: its bytes, its ETag (quoted, strong) and its numbers."""

    data: bytes
    etag: str
    generation: int
    issued_at: datetime
    next_update: datetime
    covered_count: int


@dataclass(frozen=True)
class CascadeBuild:
    """What a base is made of, before signing: the filter in Mozilla's format and the stash
    of superseded keys still inside their overlap."""

    filter_bytes: bytes
    stash: dict[str, datetime | None]
    covered_count: int
    revoked_count: int
    covered_through: datetime


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def build_filter(revoked: set[bytes], others: set[bytes], salt: bytes) -> bytes:
    """Return a filter cascade (Mozilla's format version 2, SHA-256 hashing, ``salt``) that
    answers True exactly for ``revoked`` and False for ``others``. Raises RuntimeError if
    `filtercascade` could not build an exact one (it is checked item by item)."""
    import filtercascade
    from filtercascade.fileformats import HashAlgorithm

    # the smaller side goes into the first layer: with invertedLogic filtercascade swaps the
    # two sets itself (and writes the inverted flag)
    inverted = len(revoked) > len(others)
    cascade = filtercascade.FilterCascade(
        [], defaultHashAlg=HashAlgorithm.SHA256, salt=salt, invertedLogic=inverted
    )
    if revoked and others:
        smaller, larger = sorted((len(revoked), len(others)))
        cascade.set_crlite_error_rates(include_len=smaller, exclude_len=larger)
        cascade.initialize(include=revoked, exclude=others)
    if not cascade.filters:
        # an empty side: one empty layer says "not included" of everything (filtercascade
        # writes no layer at all, which rust-cascade refuses)
        cascade.filters = [
            filtercascade.Bloomer(
                size=8, nHashFuncs=1, level=1, hashAlg=HashAlgorithm.SHA256, salt=salt
            )
        ]
    out = io.BytesIO()
    cascade.tofile(out)
    data = out.getvalue()
    # exact by construction, and checked: our own reader, as installers will read it
    reader = FilterCascade.from_bytes(data)
    if any(item not in reader for item in revoked) or any(item in reader for item in others):
        raise RuntimeError("the filter cascade is not exact over the keys it was built for")
    return data


def build(ctx: ServiceContext) -> CascadeBuild:
    """The base as the database says now: every key issued up to now - COVERAGE_MARGIN and
    not expired before now (with CLOCK_SKEW), revoked keys and superseded keys whose overlap
    is over on one side, the others on the other; superseded keys still inside their overlap
    in the stash with its end."""
    now = _whole_seconds(ctx.now())
    covered_through = now - COVERAGE_MARGIN
    rows = ctx.session.execute(
        select(IssuedKey.serial, IssuedKey.status, IssuedKey.usable_until).where(
            # the claims' issued_at is whole seconds: a key issued at covered_through.5 is
            # covered_through in its claims, so it belongs to the base
            IssuedKey.issued_at < covered_through + timedelta(seconds=1),
            IssuedKey.expires_at.is_(None) | (IssuedKey.expires_at >= now - keys.CLOCK_SKEW),
        )
    )
    revoked: set[bytes] = set()
    others: set[bytes] = set()
    stash: dict[str, datetime | None] = {}
    for serial, status, usable_until in rows:
        item = cascade_item(serial)
        if status == KeyStatus.REVOKED:
            revoked.add(item)
        elif status == KeyStatus.SUPERSEDED and (usable_until is None or usable_until <= now):
            revoked.add(item)
        else:
            others.add(item)
            if status == KeyStatus.SUPERSEDED and usable_until is not None:
                stash[serial] = _whole_seconds(usable_until)
    salt = secrets.token_bytes(SALT_BYTES)
    return CascadeBuild(
        build_filter(revoked, others, salt),
        stash,
        len(revoked) + len(others),
        len(revoked),
        covered_through,
    )


def _row(ctx: ServiceContext, *, lock: bool) -> RevocationCascadeCopy:
    query = select(RevocationCascadeCopy).where(RevocationCascadeCopy.id == ROW_ID)
    if lock:
        query = query.with_for_update()
    row = ctx.session.scalar(query)
    if row is None:  # a schema made without migration 0019's row
        row = RevocationCascadeCopy(id=ROW_ID, generation=0)
        ctx.session.add(row)
        ctx.session.flush()
    return row


def _stored(row: RevocationCascadeCopy) -> StoredCascade | None:
    if row.signed is None or row.issued_at is None or row.next_update is None:
        return None
    digest = hashlib.sha256(row.signed).hexdigest()[:20]
    return StoredCascade(
        bytes(row.signed),
        f'"c{row.generation}-{digest}"',
        row.generation,
        row.issued_at,
        row.next_update,
        row.covered_count or 0,
    )


def _fresh(
    ctx: ServiceContext,
    kid: str | None,
    issued_at: datetime,
    next_update: datetime,
    *,
    serving: bool = False,
) -> bool:
    try:
        active_kid = active_record(ctx).kid
    except NotFound:
        return True  # nothing could sign a newer one; keep serving what there is
    if serving:  # the API: keep serving while installers still get a day's validity
        refresh_at = max(next_update - SERVE_AT_LEAST, issued_at + BASE_MAX_AGE)
    else:
        refresh_at = min(issued_at + (next_update - issued_at) / 2, issued_at + BASE_MAX_AGE)
    return kid == active_kid and ctx.now() < refresh_at


def _next_generation(ctx: ServiceContext, previous: int) -> int:
    # Unix seconds of the build, and always above every number handed out before
    return max(previous + 1, int(ctx.now().timestamp()))


def rebuild(ctx: ServiceContext, server: str = "") -> StoredCascade:
    """Build, sign and store a new base (the caller commits). ``server`` is the URL signed
    into it (where installers fetch a current one). Raises NotConfigured when there is no
    active signing key."""
    row = _row(ctx, lock=True)
    try:
        signer_rec = active_record(ctx)
    except NotFound:
        raise NotConfigured(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        ) from None
    made = build(ctx)
    now = _whole_seconds(ctx.now())
    generation = _next_generation(ctx, row.generation)
    header = CascadeHeader(
        kind="base",
        kid=signer_rec.kid,
        generation=generation,
        base=generation,
        since=generation,
        issued_at=now,
        next_update=now + timedelta(days=ctx.policy.revocation_list_days),
        covered_through=made.covered_through,
        count=made.covered_count,
        server=server or ctx.settings.public_url,
    )
    row.signed = sign_cascade(header, made.filter_bytes, made.stash, active_signer(ctx))
    row.generation = generation
    row.kid = signer_rec.kid
    row.issued_at = header.issued_at
    row.next_update = header.next_update
    row.covered_through = header.covered_through
    row.covered_count = header.count
    ctx.session.flush()
    with _served_lock:
        _served.clear()
    stored = _stored(row)
    assert stored is not None
    return stored


_STATE = select(
    RevocationCascadeCopy.generation,
    RevocationCascadeCopy.kid,
    RevocationCascadeCopy.issued_at,
    RevocationCascadeCopy.next_update,
).where(RevocationCascadeCopy.id == ROW_ID)

#: per process and database, the last base served: (generation, kid) -> StoredCascade
_served: dict[Any, tuple[tuple[Any, ...], StoredCascade]] = {}
_served_lock = threading.Lock()


def current(ctx: ServiceContext) -> StoredCascade | None:
    """The stored base if it may be served as it is; None when it must be rebuilt first
    (missing, signed by a retired key, too old). Writes nothing."""
    state = ctx.session.execute(_STATE).first()
    if state is None or state.issued_at is None or state.next_update is None:
        return None
    if not _fresh(ctx, state.kid, state.issued_at, state.next_update, serving=True):
        return None
    where = ctx.session.get_bind().engine.url
    version = (state.generation, state.kid)
    with _served_lock:
        held = _served.get(where)
    if held is not None and held[0] == version:
        return held[1]
    row = _row(ctx, lock=False)
    stored = _stored(row)
    if stored is None or stored.generation != state.generation:
        return None
    with _served_lock:
        _served[where] = (version, stored)
    return stored


def current_or_rebuild(
    ctx: ServiceContext, server: str = "", *, serving: bool = False
) -> StoredCascade:
    """The stored base, rebuilt first when it must be (the caller commits): older than
    BASE_MAX_AGE, or with ``serving`` (the API) only once it has less than SERVE_AT_LEAST of
    validity left. Raises NotConfigured when there is no active signing key."""
    row = _row(ctx, lock=True)
    stored = _stored(row)
    if stored is not None and _fresh(
        ctx, row.kid, stored.issued_at, stored.next_update, serving=serving
    ):
        return stored
    return rebuild(ctx, server)


def delta_since(ctx: ServiceContext, since: int) -> bytes:
    """Return a signed delta of the current base that follows generation ``since`` (the base's
    own generation, or a delta's): every unexpired key revoked, or superseded, since the base
    was built (COVERAGE_MARGIN earlier, so that nothing committed late is missed). Writes
    nothing.

    Raises ValidationFailed for a ``since`` out of range, Conflict (`cascade_base_replaced`)
    when ``since`` is older than the current base (the installer fetches the base again),
    NotFound when no base was built yet and NotConfigured without an active signing key."""
    if not 1 <= since <= keys.cascade.MAX_GENERATION - 1:
        raise ValidationFailed("since must be a generation number (a whole number from 1)")
    row = _row(ctx, lock=False)
    if row.signed is None or row.covered_through is None or row.issued_at is None:
        raise NotFound("no revocation cascade was built yet: GET /v1/revocations/cascade first")
    if since < row.generation:
        raise BaseReplaced(
            f"generation {since} is older than the current base ({row.generation}); fetch "
            "the base again (GET /v1/revocations/cascade)"
        )
    try:
        signer_rec = active_record(ctx)
    except NotFound:
        raise NotConfigured(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        ) from None
    now = _whole_seconds(ctx.now())
    listed_from = row.covered_through - COVERAGE_MARGIN
    rows = ctx.session.execute(
        select(IssuedKey.serial, IssuedKey.status, IssuedKey.usable_until).where(
            ((IssuedKey.status == KeyStatus.REVOKED) & (IssuedKey.revoked_at >= listed_from))
            | (
                (IssuedKey.status == KeyStatus.SUPERSEDED) & (IssuedKey.usable_until >= listed_from)
            ),
            IssuedKey.expires_at.is_(None) | (IssuedKey.expires_at >= now - keys.CLOCK_SKEW),
        )
    )
    stash: dict[str, datetime | None] = {}
    for serial, status, usable_until in rows:
        if status == KeyStatus.REVOKED or usable_until is None:
            stash[serial] = None
        else:
            stash[serial] = _whole_seconds(usable_until)
    header = CascadeHeader(
        kind="delta",
        kid=signer_rec.kid,
        generation=max(since + 1, int(now.timestamp())),
        base=row.generation,
        since=since,
        issued_at=now,
        next_update=now + timedelta(days=ctx.policy.revocation_list_days),
        covered_through=max(now - COVERAGE_MARGIN, row.covered_through),
        count=len(stash),
        server=ctx.settings.public_url,
    )
    return sign_cascade(header, b"", stash, active_signer(ctx))


class BaseReplaced(Conflict):
    """A delta was asked for since a generation older than the current base."""

    code = "cascade_base_replaced"
