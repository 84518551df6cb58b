"""Signed keys: issuance (called by the key-request policy), listing, revocation, online
verification with a signed answer, and the signed revocation list."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

import keys
from keys import tlog
from licensesvc import transparency
from licensesvc.accounts import get_customer, get_license
from licensesvc.domain import PRIMARY_KINDS, EffectiveKeyStatus, KeyKind, KeyStatus, RevocationCode
from licensesvc.domain.errors import InvalidState, NotConfigured, NotFound, require_reason
from licensesvc.domain.policy import KeyPlan
from licensesvc.domain.standing import Standing
from licensesvc.models import IssuedKey, License, SigningKeyRecord
from licensesvc.platform import audit, changefeed, inputs, metrics, outbox
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from licensesvc.platform.transactions import (
    before_reading,
    defer_insert_object,
    defer_update,
    lock_customer,
)
from licensesvc.readmodels import KeyView
from licensesvc.readmodels import (
    effective_status as effective_status,  # re-exported: callers import it here
)

from . import quotas, revocation_lists
from .signing import (
    PublishedKeys,
    active_record,
    load_private,
    published_keys,
    published_signer,
)

_SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: domain separation for the signed answers of POST /v1/keys/verify
VERIFY_ANSWER_CONTEXT = b"licensesvc/verify-answer/v1\n"


def new_serial() -> str:
    groups = ["".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(4)) for _ in range(4)]
    return "SN-" + "-".join(groups)


def issue_signed_key(
    ctx: ServiceContext,
    lic: License,
    st: Standing,
    plan: KeyPlan,
    *,
    serial: str,
    active: Sequence[IssuedKey] | None = None,
    known: Sequence[IssuedKey] = (),
    signer_record: SigningKeyRecord | None = None,
) -> IssuedKey:
    """Sign a key for lic under `serial` exactly as `plan` says (the policy's
    decision, domain/policy.py `Decision.key_plan`: its kind, hosts, window, whether it
    supersedes; the caller has claimed any quota and moved the license). A superseded key
    stays usable for the configured overlap; the keys of `plan.ends_overlap_of` (an earlier
    overlap still running) stop being usable at once, and the revocation list shows it.
    `active` (the license's active keys, read under their lock) and `known` (keys of the license
    read in this transaction under the customer's lock) save reading those rows again.
    `signer_record`: the active signing key, read already in this transaction (None: read it here).
    Returns the key, written with the transaction's other writes at commit (or before the
    transaction's next read of its table; platform/transactions.py `defer_insert_object`).
    Raises NotConfigured (no signing key)."""
    try:
        signer_rec = signer_record if signer_record is not None else active_record(ctx)
    except NotFound:
        raise NotConfigured(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        ) from None
    signer = load_private(ctx, signer_rec)
    now = plan.issued_at
    kind, case_number = plan.kind, plan.case_number
    not_before, expires_at = plan.not_before, plan.expires_at
    key_host, failover = plan.hosts.host, plan.hosts.failover_host

    by_serial = {k.serial: k for k in known}
    for earlier in plan.ends_overlap_of:
        _end_overlap(ctx, by_serial.get(earlier) or earlier, now, by=serial)

    supersedes: IssuedKey | None = None
    if plan.supersedes_primary and active is not None:
        supersedes = next(
            (k for k in active if k.status == KeyStatus.ACTIVE and k.kind in PRIMARY_KINDS), None
        )
    elif plan.supersedes_primary:
        supersedes = ctx.session.scalar(
            select(IssuedKey).where(
                IssuedKey.license_id == lic.id,
                IssuedKey.status == KeyStatus.ACTIVE,
                IssuedKey.kind.in_(PRIMARY_KINDS),
            )
        )
    if supersedes is not None:
        overlap_end = now + timedelta(days=ctx.policy.replacement_overlap_days)
        if supersedes.expires_at is not None:
            overlap_end = min(overlap_end, supersedes.expires_at)
        # written before the new key (the partial unique index allows one active primary key)
        _change_key(
            ctx,
            supersedes,
            status=KeyStatus.SUPERSEDED,
            superseded_by=serial,
            usable_until=overlap_end,
        )

    contract = st.contract
    claims = keys.Claims(
        serial=serial,
        license_id=str(lic.id),
        customer_id=str(lic.customer_id),
        customer_name=st.customer.name,
        product=lic.product,
        kind=kind,
        agents=lic.agents,
        jobs=lic.jobs,
        host=key_host,
        failover_host=failover,
        issued_at=now,
        not_before=not_before,
        expires_at=expires_at,
        maintenance_until=st.maintenance_until or now.date(),
        reason=plan.reason,
        supersedes=supersedes.serial if supersedes else None,
        case_number=case_number,
    )
    text = keys.sign_key(claims, signer)
    signed = keys.decode_unverified(text)
    key = IssuedKey(
        serial=serial,
        license_id=lic.id,
        customer_id=lic.customer_id,
        contract_id=contract.id if contract else None,
        case_number=case_number,
        kind=kind,
        reason=claims.reason,
        dr_test_date=plan.dr_test_date,
        status=KeyStatus.ACTIVE,
        key_text=text,
        claims=signed.to_dict(),
        signing_kid=signer_rec.kid,
        issued_at=now,
        not_before=not_before,
        expires_at=expires_at,
        supersedes=claims.supersedes,
        key_hash=hashlib.sha256(text.encode()).hexdigest(),
    )
    set_committed_value(key, "license", lic)  # what the outbox's events read of it
    # the key, its transparency log's leaves (and the key it supersedes, above): written with
    # the transaction's other writes at commit (PostgreSQL: one statement)
    defer_insert_object(ctx.session, key)
    transparency.record_key_event(ctx, key, "issue")
    if supersedes is not None:
        transparency.record_key_event(ctx, supersedes, "supersede", by=serial)
    metrics.count(ctx.session, metrics.KEYS_ISSUED, kind=key.kind)
    audit.append(
        ctx,
        "key.issued",
        "key",
        serial,
        customer_id=lic.customer_id,
        details={
            "kind": kind,
            "license_id": lic.id,
            "case_number": case_number,
            "kid": signer_rec.kid,
            "host": key_host,
            "not_before": not_before,
            "expires_at": expires_at,
            "supersedes": claims.supersedes,
        },
    )
    if supersedes is not None:
        audit.append(
            ctx,
            "key.superseded",
            "key",
            supersedes.serial,
            customer_id=lic.customer_id,
            details={"by": serial, "usable_until": supersedes.usable_until},
        )
        outbox.key_superseded(ctx, supersedes)
        # the superseded key is listed at once: the next reader signs the list afresh
        revocation_lists.mark_outdated(ctx)
    return key


def _end_overlap(ctx: ServiceContext, found: IssuedKey | str, now: datetime, *, by: str) -> None:
    """End a superseded key's overlap now: one overlap at a time per license. `found` is the
    key, or its serial to read it by."""
    if isinstance(found, str):
        key = ctx.session.scalar(select(IssuedKey).where(IssuedKey.serial == found))
    else:
        key = found
    if key is None or key.status != KeyStatus.SUPERSEDED:
        return
    if key.usable_until is not None and key.usable_until <= now:
        return
    previous = key.usable_until
    _change_key(ctx, key, usable_until=now)
    # the stored list says when the key stops being usable: not when its overlap would have
    # ended (a key that ends an overlap need not supersede one, which marks it too)
    revocation_lists.mark_outdated(ctx)
    audit.append(
        ctx,
        "key.overlap_ended",
        "key",
        key.serial,
        customer_id=key.customer_id,
        details={"by": by, "usable_until": now, "was_usable_until": previous},
    )


def _change_key(ctx: ServiceContext, key: IssuedKey, **values: Any) -> None:
    """Change a key read in this transaction (under its lock): the object at once, the row
    with the transaction's other writes at commit (platform/transactions.py `defer_update`)."""
    for name, value in values.items():
        set_committed_value(key, name, value)
    defer_update(ctx.session, _KEYS, {"id": key.id}, values)


_KEYS = IssuedKey.__table__


def get_key(ctx: ServiceContext, serial: str) -> IssuedKey:
    """Return the key. Raises NotFound (also for another customer's key)."""
    key = ctx.session.scalar(select(IssuedKey).where(IssuedKey.serial == serial))
    if key is None:
        raise NotFound(f"key {serial} not found")
    ctx.actor.check_customer(key.customer_id, f"key {serial}")
    return key


def key_view(ctx: ServiceContext, serial: str) -> KeyView:
    """The key as its reader sees it now: record, effective status, what it grants (product,
    host, failover host, agent and job limits as signed) and its text; the revocation's words
    for analysts only. Raises NotFound."""
    return KeyView.of(get_key(ctx, serial), ctx.now(), analyst=ctx.actor.is_analyst)


def _keys_query(
    ctx: ServiceContext, customer_id: int | None, license_id: int | None
) -> Select[IssuedKey]:
    query = select(IssuedKey)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        get_customer(ctx, customer_id)  # an unknown id is not_found, not an empty list
        query = query.where(IssuedKey.customer_id == customer_id)
    if license_id is not None:
        get_license(ctx, license_id)  # also another customer's license: not_found
        query = query.where(IssuedKey.license_id == license_id)
    return query


def list_keys(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    license_id: int | None = None,
) -> list[IssuedKey]:
    """Every key (a customer actor: its own), optionally of one customer or license, newest
    first. For one customer's screen; a list a person pages through uses page_keys. Raises
    NotFound (an unknown customer or license)."""
    query = _keys_query(ctx, customer_id, license_id).order_by(IssuedKey.id.desc())
    return list(ctx.session.scalars(query))


def page_keys(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    license_id: int | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[IssuedKey]:
    """A page of the keys (a customer actor: its own; analysts: every customer's, or
    `customer_id`'s), optionally of one license, newest first (by id, indexed with the
    customer). Raises NotFound (an unknown customer or license), ValidationFailed for a page
    outside the limits."""
    return paginate(ctx.session, _keys_query(ctx, customer_id, license_id), page, page_size)


def revoke_key(
    ctx: ServiceContext,
    serial: str,
    reason: str,
    code: RevocationCode | str = RevocationCode.KEY_COMPROMISE,
) -> IssuedKey:
    """Revoke a key: it fails online verification at once and the stored revocation list is
    rebuilt with it. `code` is what the list says (default key_compromise: a revocation that
    gives no cause is treated as the worst one); the analyst's reason goes to the audit trail
    only. Raises NotFound, InvalidState (already revoked), ValidationFailed (no reason, an
    unknown code, control characters)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "revoking a key")
    revocation_code = inputs.choice(code, RevocationCode, "code")
    # lock order (platform/transactions.py): the customer's row, then the key's, re-read
    found = get_key(ctx, serial)
    lock_customer(ctx, found.customer_id)
    key = ctx.session.scalar(
        select(IssuedKey)
        .where(IssuedKey.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert key is not None  # keys are never deleted
    if key.status == KeyStatus.REVOKED:
        raise InvalidState(f"key {serial} was already revoked on {key.revoked_at:%Y-%m-%d}")
    previous = key.status
    if key.kind == KeyKind.TEMPORARY:
        quotas.release_slot(ctx, key.serial)  # a revoked temporary key is no longer active
    key.status = KeyStatus.REVOKED
    key.revoked_at = ctx.now()
    key.revoked_reason = reason
    key.revocation_code = revocation_code
    transparency.record_key_event(ctx, key, "revoke", code=revocation_code)
    ctx.session.flush()
    audit.append(
        ctx,
        "key.revoked",
        "key",
        serial,
        customer_id=key.customer_id,
        reason=reason,
        details={"previous_status": previous, "code": revocation_code},
    )
    outbox.key_revoked(ctx, key)
    revocation_lists.rebuild(ctx)
    return key


def license_file_for(key: IssuedKey) -> str:
    return keys.license_file(key.key_text)


def logged_license_file(ctx: ServiceContext, key: IssuedKey) -> str:
    """The key's license file followed by its transparency-log proof (keys.tlog.LogProof)
    against the newest checkpoint, once the integrator has logged the key (within seconds of
    issue); until then the license file alone. docs/transparency.md."""
    text = keys.license_file(key.key_text)
    try:
        found = transparency.inclusion(ctx, key.serial)
    except NotFound:
        return text
    proof = tlog.LogProof(
        index=found.index,
        tree_size=found.tree_size,
        leaf=found.leaf,
        proof=tuple(found.proof),
        checkpoint=found.checkpoint,
    )
    return text + proof.render()


@dataclass(frozen=True)
class _KnownKey:
    """What verify needs of a key this server issued, found by the hash of its text."""

    claims: keys.Claims
    status: str
    expires_at: datetime | None
    usable_until: datetime | None
    #: claims.to_dict(), made once for every answer about the key (never changed: shared)
    claims_wire: dict[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims_wire", self.claims.to_dict())


#: verify's snapshot of issued keys by the SHA-256 of their text (platform/changefeed.py), and
#: how many keys it keeps (the most recently verified; about 2 KB each with their claims)
_KNOWN_KEYS = "verify.known_keys"
KNOWN_KEYS_KEPT = 50_000


def _known_key(ctx: ServiceContext, digest: str) -> _KnownKey | None:
    """The issued key whose text hashes to digest, from this process's snapshot while the
    change feed is current, else from the database (kept in the snapshot under the feed's
    stamp taken before the read); None when the server issued no such text."""
    feed = changefeed.feed_of(ctx.session)
    stamp = feed.state() if feed is not None else None
    if feed is not None and stamp is not None:
        held: _KnownKey | None = feed.snapshot(_KNOWN_KEYS, KNOWN_KEYS_KEPT).get(digest, stamp)
        if held is not None:
            return held
    elif feed is not None:
        metrics.tell(metrics.SNAPSHOT_BYPASSED)
    row = ctx.session.connection().execute(_VERIFY_BY_HASH, {"digest": digest}).first()
    if row is None:
        return None
    known = _KnownKey(
        keys.decode_unverified(row.key_text), row.status, row.expires_at, row.usable_until
    )
    if feed is not None and stamp is not None:
        feed.snapshot(_KNOWN_KEYS, KNOWN_KEYS_KEPT).put(digest, stamp, known)
    return known


def verify_online(
    ctx: ServiceContext,
    key_text: str,
    *,
    nonce: str | None = None,
    product: str | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """Check a key against this server's public keys and its own record, and return the answer
    signed by the server's active key (so the caller can keep it as offline proof). Reveals
    nothing beyond the key's own status: claims only when the signature is genuine. The
    answer echoes, inside what is signed, the `nonce`, `host` and `product` it was asked about
    (null when not asked): a relay that drops `host` cannot pass off a host-free `valid` as an
    answer about the host the client named.

    A text the server issued is recognised by its SHA-256 (the snapshot of the change feed,
    else one indexed read): it is byte for byte what the server signed, so only its claims
    are checked (keys.check_claims), not the signature again. Any other text (a license file,
    a tampered or foreign key) goes through keys.verify, so it gets the right failure code."""
    now = ctx.now()
    published = published_keys(ctx)
    claims: keys.Claims | None
    code = "valid"
    # keys this transaction wrote (deferred to its commit) are read below on the connection
    before_reading(ctx.session, IssuedKey.__tablename__)
    known = _known_key(ctx, hashlib.sha256(key_text.encode()).hexdigest())
    if known is not None and known.claims.kid in published.trusted:
        claims = known.claims
        try:
            keys.check_claims(claims, at=now, product=product, host=host)
        except keys.LicenseKeyError as exc:
            code = exc.code
    else:
        known = None
        try:
            try:
                claims = keys.verify(
                    key_text, published.trusted, at=now, product=product, host=host
                )
            except keys.UnknownKeyId:
                # a key generated in another process since this one last looked: look again
                published = published_keys(ctx, refresh=True)
                claims = keys.verify(
                    key_text, published.trusted, at=now, product=product, host=host
                )
        except keys.LicenseKeyError as exc:
            claims = exc.claims
            code = exc.code
        if claims is not None:
            # only the columns the answer needs, by the unique serial (no ORM object to build)
            # (on the session's connection: the ORM's result machinery adds nothing to a row)
            row = (
                ctx.session.connection().execute(_VERIFY_LOOKUP, {"serial": claims.serial}).first()
            )
            # the text must be the one we issued, not just carry a known serial (a license
            # file of it is)
            if row is not None and (
                row.key_text == key_text or keys.decode_unverified(row.key_text) == claims
            ):
                known = _KnownKey(claims, row.status, row.expires_at, row.usable_until)
    status = "unknown"
    usable_until: datetime | None = None
    if known is not None:
        if known.status in (KeyStatus.REVOKED, KeyStatus.SUPERSEDED):
            status = EffectiveKeyStatus(known.status)
        elif known.expires_at is not None and known.expires_at < now:
            status = EffectiveKeyStatus.EXPIRED
        else:
            status = EffectiveKeyStatus.ACTIVE
        if code == "valid":
            if status == EffectiveKeyStatus.REVOKED:
                code = "revoked"  # keys.ERROR_CODES, the installer's codes
            elif status == EffectiveKeyStatus.SUPERSEDED:
                usable_until = known.usable_until
                if usable_until is not None and usable_until <= now:
                    code = "superseded"
    if known is None and claims is not None and code == "valid":
        code = "unknown_serial"
    body: dict[str, Any] = {
        "valid": code == "valid",
        "code": code,
        "status": status,
        "checked_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nonce": nonce,
        "host": host,
        "product": product,
    }
    if claims is not None:
        body["serial"] = claims.serial
        body["claims"] = known.claims_wire if known is not None else claims.to_dict()
    if usable_until is not None:
        body["usable_until"] = usable_until.strftime("%Y-%m-%dT%H:%M:%SZ")
    return sign_answer(ctx, body, published)


#: verify's queries: built once (no statement construction per request)
_VERIFY_LOOKUP = select(
    IssuedKey.key_text, IssuedKey.status, IssuedKey.expires_at, IssuedKey.usable_until
).where(IssuedKey.serial == bindparam("serial"))
_VERIFY_BY_HASH = select(
    IssuedKey.key_text, IssuedKey.status, IssuedKey.expires_at, IssuedKey.usable_until
).where(IssuedKey.key_hash == bindparam("digest"))


def sign_answer(
    ctx: ServiceContext, body: dict[str, Any], published: PublishedKeys | None = None
) -> dict[str, Any]:
    """Add `kid` and `signature` (Ed25519 over VERIFY_ANSWER_CONTEXT + the canonical JSON of
    the body with kid, without signature) to an answer."""
    published = published or published_keys(ctx)
    try:
        signer = published_signer(ctx, published)
    except NotFound:
        raise NotConfigured("no active signing key") from None
    body = dict(body, kid=published.active_kid)
    signature = signer.sign(VERIFY_ANSWER_CONTEXT + canonical_json(body))
    body["signature"] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    return body


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()


#: json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), made once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signed_revocation_list(ctx: ServiceContext) -> str:
    """Return the stored signed revocation list (issuance/revocation_lists.py), rebuilt first
    when it must be; the caller commits. Raises NotConfigured (no signing key)."""
    return revocation_lists.current_or_rebuild(ctx).text
