"""License keys: signing, the two text forms, and the verification routine.

docs/key-format.md sections 5-7.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TypeGuard, cast

from keys import _encoding as enc
from keys.claims import CLOCK_SKEW, Claims, decode_canonical_payload
from keys.errors import (
    Expired,
    InvalidValue,
    LicenseKeyError,
    MaintenanceNotCovering,
    MalformedKey,
    NotYetValid,
    Revoked,
    UnknownToList,
    WrongHost,
    WrongProduct,
)
from keys.signing import (
    Envelope,
    PublicKey,
    SigningKey,
    TrustedKeys,
    check_envelope_signature,
    open_envelope,
    seal,
    trusted_by_kid,
)

if TYPE_CHECKING:  # imported when used: `import keys` stays light for installers
    from keys.anchor import TimeAnchor
    from keys.cascade import RevocationCascade
    from keys.revocation import RevocationList

KEY_PREFIX = "LK1."
KEY_CONTEXT = b"licensesvc/key/v1\n"
FILE_BEGIN = "-----BEGIN LICENSESVC LICENSE-----"
FILE_END = "-----END LICENSESVC LICENSE-----"
FILE_LINE_WIDTH = 64
#: the first line of the log proof block that may follow (keys.tlog.PROOF_BEGIN)
LOG_PROOF_BEGIN = "-----BEGIN LICENSESVC LOG PROOF-----"


def sign_key(claims: Claims, signing_key: SigningKey) -> str:
    """Return the compact text key (one line) for ``claims`` signed by ``signing_key``.

    The claims' ``kid`` is set to the signing key's kid. Raises nothing for valid Claims
    (Claims cannot be constructed with values the format cannot carry).
    """
    signed_claims = dataclasses.replace(claims, kid=signing_key.kid)
    payload = enc.canonical_json(signed_claims.to_dict())
    return seal(KEY_PREFIX, KEY_CONTEXT, payload, signing_key)


def _render_license_file(claims: Claims, text_key: str) -> str:
    wire = claims.to_dict()

    def shown(name: str, absent: str = "none") -> str:
        value = wire[name]
        return absent if value is None else str(value)

    summary = [
        f"Customer: {claims.customer_name} ({claims.customer_id})",
        f"Product: {claims.product}",
        f"License ID: {claims.license_id}",
        f"Kind: {claims.kind}",
        f"Reason: {shown('reason')}",
        f"Agents: {claims.agents}",
        f"Jobs: {claims.jobs}",
        f"Host: {claims.host}",
        f"Failover host: {shown('failover_host')}",
        f"Valid from: {shown('not_before')}",
        f"Expires: {shown('expires_at', 'never (perpetual)')}",
        f"Maintenance until: {shown('maintenance_until')}",
        f"Serial: {claims.serial}",
        f"Supersedes: {shown('supersedes')}",
        f"Case: {shown('case_number')}",
        f"Issued at: {shown('issued_at')}",
        f"Signing key ID: {claims.kid}",
        f"Format version: {claims.version}",
    ]
    key_lines = [
        text_key[start : start + FILE_LINE_WIDTH]
        for start in range(0, len(text_key), FILE_LINE_WIDTH)
    ]
    return "\n".join([FILE_BEGIN, *summary, "", *key_lines, FILE_END]) + "\n"


# What step 1 yields: the claims, and the envelope whose signature steps 2-3 check.
_DecodedKey = tuple[Claims, Envelope]


def _decode_payload(payload: bytes) -> Claims:
    """The spec's decoding rule (section 4): parse, check members and types, and require the
    payload to be the canonical JSON of what it says. Raises MalformedKey."""
    try:
        obj = enc.parse_json_object(payload)
        claims = Claims.from_dict(obj)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise MalformedKey(f"The license key's content is not valid: {exc}.") from None
    # Exactly one encoding: the payload must be the canonical JSON of what it says.
    if enc.canonical_json(claims.to_dict()) != payload:
        raise MalformedKey("The license key's content is not in canonical form.")
    return claims


def _decode_text_key(text_key: str) -> _DecodedKey:
    envelope = open_envelope(KEY_PREFIX, text_key)
    # The common case, recognized directly; anything else (including every invalid payload)
    # gets the general rule, which decides and words the error (see keys.claims).
    claims = decode_canonical_payload(envelope.payload)
    if claims is None:
        claims = _decode_payload(envelope.payload)
    return claims, envelope


def _extract_file_key(normalized: str) -> str:
    lines = normalized.split("\n")
    if len(lines) < 3 or lines[0] != FILE_BEGIN or lines[-1] != FILE_END:
        raise MalformedKey("The license file's BEGIN or END line is missing.")
    try:
        blank = lines.index("")
    except ValueError:
        raise MalformedKey("The license file has no blank line before the key.") from None
    return "".join(lines[blank + 1 : -1])


def _decode(key_or_file: str | bytes) -> _DecodedKey:
    """Step 1 of verification: decode either form; raise MalformedKey for anything wrong."""
    try:
        if type(key_or_file) is str and "\r" not in key_or_file and key_or_file[:1] != enc.BOM:
            # The common case (no CR, no BOM, a str) without the general reading rule's calls.
            if len(key_or_file) > enc.MAX_INPUT_LENGTH:
                raise MalformedKey("The license key is too long.")
            normalized = key_or_file.strip(enc.WHITESPACE)
        else:
            try:
                normalized = enc.read_input(key_or_file, "license key", enc.MAX_INPUT_LENGTH)
            except ValueError as exc:
                raise MalformedKey(f"The license key cannot be read: {exc}.") from None
        if not normalized.startswith(FILE_BEGIN):
            return _decode_text_key(normalized)
        # a transparency-log proof block may follow the license block (keys.tlog); it is
        # checked by keys.tlog.verify_key_logged, not here
        proof_at = normalized.find(LOG_PROOF_BEGIN)
        if proof_at > 0:
            normalized = normalized[:proof_at].strip(enc.WHITESPACE)
        text_key = _extract_file_key(normalized)
        decoded = _decode_text_key(text_key)
        rendered = _render_license_file(decoded[0], text_key).strip(enc.WHITESPACE)
        if rendered != normalized:
            raise MalformedKey("The license file's text does not match the key it contains.")
        return decoded
    except LicenseKeyError:
        raise
    except Exception as exc:  # any surprise while parsing is a malformed key
        raise MalformedKey(f"The license key could not be parsed ({type(exc).__name__}).") from None


def license_file(text_key: str | bytes) -> str:
    """Return the armored license-file form of a text key (BEGIN/END block with a summary).

    The file ends with a newline. Raises MalformedKey if ``text_key`` is not a canonical text
    key (a license file is accepted too and re-rendered). The signature is not checked.
    """
    claims, envelope = _decode(text_key)
    return _render_license_file(claims, seal_text(envelope))


def seal_text(envelope: Envelope) -> str:
    """Return the canonical text key of a decoded envelope."""
    return (
        f"{KEY_PREFIX}{enc.b64url_encode(envelope.payload)}.{enc.b64url_encode(envelope.signature)}"
    )


def decode_unverified(key_or_file: str | bytes) -> Claims:
    """Return the claims of a text key or license file WITHOUT checking the signature.

    For display and lookup only; never base a decision on the result. Raises MalformedKey.
    """
    return _decode(key_or_file)[0]


def _hosts_match(expected: str, actual: str) -> bool:
    # ASCII-only case folding, as the spec says, so every language agrees.
    return enc.ascii_lower(expected) == enc.ascii_lower(actual)


class Verifier:
    """A license-key verifier built once around the keys it trusts, as sigstore-python's
    ``Verifier``: the trusted keys are checked and indexed by key ID when it is made, so a
    bad configuration fails at start-up, not at the first key; :meth:`verify` then reads and
    checks any number of keys against them. An installer makes one (with its time anchor, if
    it keeps one) and keeps it::

        verifier = keys.Verifier(keys.public_keys_from_pem(pem))
        claims = verifier.verify(text, host="sched01.example.com", product="JAMS Scheduler")

    The allowed algorithm (Ed25519) and the trusted keys come from here, never from the key:
    a key's ``kid`` only selects among them. Raises KeyConfigurationError for ``trusted``
    that is not public keys (or a mapping filing a key under another kid).
    """

    __slots__ = ("_anchor", "_trusted")

    def __init__(self, trusted: TrustedKeys, *, anchor: TimeAnchor | None = None) -> None:
        self._trusted = trusted_by_kid(trusted)
        self._anchor = anchor

    @property
    def trusted_kids(self) -> frozenset[str]:
        """The key IDs this verifier trusts."""
        return frozenset(self._trusted)

    def verify(
        self,
        key_or_file: str | bytes,
        *,
        at: datetime | None = None,
        product: str | None = None,
        host: str | None = None,
        build_date: date | None = None,
        revocations: RevocationList | RevocationCascade | None = None,
    ) -> Claims:
        """Return the verified Claims of a text key or license file (as text, or a file's
        bytes, read as docs/key-format.md section 2 says).

        ``at`` is the verification time (default: now, UTC; truncated to whole seconds);
        ``product``, ``host`` and ``build_date`` are checked only when given;
        ``revocations`` must already be verified (see :func:`keys.verify_revocation_list`, or
        :func:`keys.verify_revocation_cascade` for a cascade and its deltas); a key it names
        revoked is ``revoked`` whatever else is wrong with it, and a key a cascade cannot
        speak for is ``unknown_to_list``. The verifier's time anchor, if any, is advanced to
        ``at`` and, with a plain list, to the list's sequence (a list older than one it has
        seen fails ``stale_revocation_list``; a cascade's generation is not anchored).

        Raises exactly one LicenseKeyError subclass when the key is not acceptable (its
        ``claims`` are set when the failure came after the signature checked out), and
        InvalidValue (a ValueError) for a naive ``at``. Every one is a KeysError.
        """
        moment = datetime.now(UTC) if at is None else at
        if moment.utcoffset() is None:  # (also when tzinfo is None)
            raise InvalidValue("at must be a timezone-aware datetime")
        if moment.microsecond:  # the spec compares whole seconds (section 7)
            moment = moment.replace(microsecond=0)
        return _verify_steps(
            key_or_file,
            self._trusted,
            moment,
            product=product,
            host=host,
            build_date=build_date,
            revocations=revocations,
            anchor=self._anchor,
        )


def verify(
    key_or_file: str | bytes,
    trusted: TrustedKeys,
    *,
    at: datetime | None = None,
    product: str | None = None,
    host: str | None = None,
    build_date: date | None = None,
    revocations: RevocationList | RevocationCascade | None = None,
    anchor: TimeAnchor | None = None,
) -> Claims:
    """Return the verified Claims of a text key or license file: the simple call, the same
    as ``Verifier(trusted, anchor=anchor).verify(key_or_file, ...)`` (see :class:`Verifier`;
    a program that verifies more than one key makes the Verifier once).

    Raises exactly one LicenseKeyError subclass when the key is not acceptable (its ``claims``
    are set when the failure came after the signature checked out). Raises
    KeyConfigurationError for a bad ``trusted`` argument and InvalidValue (a ValueError) for
    a naive ``at``. Every one is a KeysError.
    """
    return Verifier(trusted, anchor=anchor).verify(
        key_or_file,
        at=at,
        product=product,
        host=host,
        build_date=build_date,
        revocations=revocations,
    )


def _verify_steps(
    key_or_file: str | bytes,
    trusted_keys: dict[str, PublicKey],
    moment: datetime,
    *,
    product: str | None,
    host: str | None,
    build_date: date | None,
    revocations: RevocationList | RevocationCascade | None,
    anchor: TimeAnchor | None,
) -> Claims:
    """The verification routine (docs/key-format.md section 7) at ``moment`` (aware, whole
    seconds) against keys already indexed by kid."""
    # 1. Decode either form: prefix, base64url, canonical JSON, members, file rendering.
    claims, envelope = _decode(key_or_file)
    # 2. Look the kid up among the trusted keys, and
    # 3. check the Ed25519 signature over the key context + payload.
    check_envelope_signature(envelope, KEY_CONTEXT, claims.kid, trusted_keys, "license key")
    # From here on the claims are genuine; failures carry them.
    # 4. Clock rollback against the anchor (which then remembers this time).
    if anchor is not None:
        anchor.check_and_advance(moment, claims=claims)
    # 5. Revocation wins: a current list (or cascade) that names the key revoked is the
    #    answer whatever else is wrong with the key (not valid yet, expired, wrong host).
    #    Stale lists, and lists older than one the anchor has seen, are refused; a "revoked"
    #    entry invalidates the key at once, a "superseded" one once its overlap (ending at
    #    revoked_at) is over, with skew. A cascade that cannot speak for the key is reported
    #    after the time checks (step 8), never taken for "not revoked".
    unknown_to_cascade = False
    if revocations is not None:
        if _is_cascade(revocations):
            unknown_to_cascade = _check_cascade(revocations, claims, moment)
        else:
            _check_list(cast("RevocationList", revocations), claims, moment, anchor)
    # 6. Not valid yet (with clock skew). Differences, not sums: year 1 or 9999 can't overflow.
    if claims.not_before - moment > CLOCK_SKEW:
        raise NotYetValid(
            f"The license key is not valid before {enc.format_timestamp(claims.not_before)}.",
            claims=claims,
        )
    # 7. Expired (with clock skew).
    if claims.expires_at is not None and moment - claims.expires_at > CLOCK_SKEW:
        raise Expired(
            f"The license key expired at {enc.format_timestamp(claims.expires_at)}.",
            claims=claims,
        )
    # 8. A cascade that was not built over this key cannot say it is not revoked.
    if unknown_to_cascade:
        assert _is_cascade(revocations)
        where = revocations.server or "the server"
        raise UnknownToList(
            f"The revocation cascade (generation {revocations.generation}) covers keys issued "
            f"up to {enc.format_timestamp(revocations.covered_through)}; this key was issued "
            f"at {enc.format_timestamp(claims.issued_at)}. Fetch a delta since generation "
            f"{revocations.generation} or a current cascade from {where}.",
            claims=claims,
        )
    # 9. Product.
    if product is not None and product != claims.product:
        raise WrongProduct(
            f"The license key is for {claims.product!r}, not {product!r}.", claims=claims
        )
    # 10. Host or failover host, ASCII case-insensitive.
    if host is not None:
        bound = [claims.host] + ([claims.failover_host] if claims.failover_host else [])
        if not any(_hosts_match(host, candidate) for candidate in bound):
            raise WrongHost(
                f"The license key is bound to {' or '.join(bound)}, not {host}.", claims=claims
            )
    # 11. Maintenance: a build released after maintenance_until is not covered.
    if build_date is not None and build_date > claims.maintenance_until:
        raise MaintenanceNotCovering(
            f"This build ({enc.format_date(build_date)}) was released after maintenance "
            f"ended on {enc.format_date(claims.maintenance_until)}.",
            claims=claims,
        )
    return claims


def _check_list(
    revocations: RevocationList, claims: Claims, moment: datetime, anchor: TimeAnchor | None
) -> None:
    """Step 5 with a plain list: raise StaleRevocationList or Revoked, else return None."""
    from keys.revocation import check_not_stale

    check_not_stale(revocations, moment, claims=claims)
    # ... and so is a list older than one this anchor has seen (section 8, sequence)
    if anchor is not None:
        anchor.check_and_advance_revocations(revocations, claims=claims)
    entry = revocations.entry_for(claims.serial)  # one lookup, however long the list
    if entry is not None and entry.status == "revoked":
        raise Revoked(
            f"The license key {claims.serial} was revoked at "
            f"{enc.format_timestamp(entry.revoked_at)} ({entry.code}).",
            claims=claims,
        )
    if entry is not None and moment - entry.revoked_at > CLOCK_SKEW:
        raise Revoked(
            f"The license key {claims.serial} was superseded by a replacement; its "
            f"overlap ended at {enc.format_timestamp(entry.revoked_at)}.",
            claims=claims,
        )


def _check_cascade(revocations: RevocationCascade, claims: Claims, moment: datetime) -> bool:
    """Step 5 with a cascade (section 14.4): raise StaleRevocationList or Revoked; return
    True when the cascade cannot speak for the key, False when it says not revoked."""
    from keys.cascade import REVOKED, SUPERSEDED, UNKNOWN

    revocations.check_not_stale(moment, claims=claims)
    answer, until = revocations.answer_for(claims.serial, claims.issued_at, claims.expires_at)
    if answer == REVOKED:
        raise Revoked(
            f"The license key {claims.serial} is revoked (revocation cascade generation "
            f"{revocations.generation}).",
            claims=claims,
        )
    if answer == SUPERSEDED and until is not None and moment - until > CLOCK_SKEW:
        raise Revoked(
            f"The license key {claims.serial} was superseded by a replacement; its "
            f"overlap ended at {enc.format_timestamp(until)}.",
            claims=claims,
        )
    return answer == UNKNOWN


def _is_cascade(revocations: object) -> TypeGuard[RevocationCascade]:
    # a cascade exists only once keys.cascade is imported: a plain list imports nothing more
    module = sys.modules.get("keys.cascade")
    return module is not None and isinstance(revocations, module.RevocationCascade)


def check_claims(
    claims: Claims,
    *,
    at: datetime,
    product: str | None = None,
    host: str | None = None,
) -> Claims:
    """Steps 5, 6, 8 and 9 of the verification routine (validity times, product, host) on
    claims whose signature is ALREADY known to be genuine: a server that recognises a key it
    issued itself, byte for byte (licensesvc's online verify), checks them without checking
    its own signature again. Raises the LicenseKeyError of the first failed step (with the
    claims), as :func:`verify` would for the same key and arguments; InvalidValue for a naive
    ``at``. Never use it on claims from :func:`decode_unverified` of an unknown text."""
    if at.utcoffset() is None:
        raise InvalidValue("at must be a timezone-aware datetime")
    moment = at.replace(microsecond=0)
    if claims.not_before - moment > CLOCK_SKEW:
        raise NotYetValid(
            f"The license key is not valid before {enc.format_timestamp(claims.not_before)}.",
            claims=claims,
        )
    if claims.expires_at is not None and moment - claims.expires_at > CLOCK_SKEW:
        raise Expired(
            f"The license key expired at {enc.format_timestamp(claims.expires_at)}.",
            claims=claims,
        )
    if product is not None and product != claims.product:
        raise WrongProduct(
            f"The license key is for {claims.product!r}, not {product!r}.", claims=claims
        )
    if host is not None:
        bound = [claims.host] + ([claims.failover_host] if claims.failover_host else [])
        if not any(_hosts_match(host, candidate) for candidate in bound):
            raise WrongHost(
                f"The license key is bound to {' or '.join(bound)}, not {host}.", claims=claims
            )
    return claims
