"""Generate the cross-language test vectors of the key format: tests/vectors/keys.json (license
keys, with and without revocation lists), revocation-lists.json and rotations.json.

Deterministic: the signing keys come from fixed 32-byte seeds (test fixtures, never used
outside tests) and Ed25519 signatures are deterministic, so running this twice gives the same
file. Run from the repository root:

    .venv/bin/python tests/vectors/make_vectors.py

The fields of a vector are documented in docs/key-format.md section 12.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import keys  # noqa: E402
from keys import _encoding as enc  # noqa: E402
from keys.license import KEY_CONTEXT, KEY_PREFIX  # noqa: E402
from keys.revocation import REVOCATION_CONTEXT, REVOCATION_PREFIX  # noqa: E402
from keys.rotation import ROTATION_CONTEXT, ROTATION_PREFIX  # noqa: E402
from keys.signing import seal  # noqa: E402
from licensesvc.issuance.revocation_cascades import build_filter  # noqa: E402

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "keys.json"
LIST_OUTPUT = HERE / "revocation-lists.json"
ROTATION_OUTPUT = HERE / "rotations.json"

OLD = keys.SigningKey.from_seed_for_tests(bytes([1]) * 32)  # the vendor's first key
NEW = keys.SigningKey.from_seed_for_tests(bytes([2]) * 32)  # after one rotation
STRANGER = keys.SigningKey.from_seed_for_tests(bytes([3]) * 32)  # never trusted

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SKEW = keys.CLOCK_SKEW
SECOND = timedelta(seconds=1)

BASE = keys.Claims(
    serial="K-0001",
    license_id="lic-1",
    customer_id="cust-1",
    customer_name="Acme Corp",
    product="scheduler",
    kind="standard",
    agents=25,
    jobs=1000,
    host="sched.acme.example",
    issued_at=T0,
    not_before=T0,
    maintenance_until=date(2025, 12, 31),
    failover_host="dr.acme.example",
    case_number="CASE-1001",
)
TEMPORARY = dataclasses.replace(
    BASE,
    serial="K-0002",
    kind="temporary",
    reason="usage_spike",
    agents=50,
    not_before=datetime(2025, 5, 1, tzinfo=UTC),
    expires_at=datetime(2025, 5, 1, tzinfo=UTC) + timedelta(days=120),
    failover_host=None,
    supersedes="K-0001",
    case_number="CASE-1002",
)
UNICODE = dataclasses.replace(
    BASE,
    serial="K-0003",
    customer_name='Müller & Søn "Zürich" \\ 東京 🚀',
    product="scheduler-é",
    case_number=None,
    failover_host=None,
)


def ts(moment: datetime) -> str:
    return enc.format_timestamp(moment)


def signed_payload(obj: Any, *, raw: bytes | None = None, key: keys.SigningKey = OLD) -> str:
    """A key whose payload is exactly ``raw`` (or compact JSON of ``obj``), correctly signed."""
    payload = raw if raw is not None else json.dumps(obj, separators=(",", ":")).encode()
    return seal(KEY_PREFIX, KEY_CONTEXT, payload, key)


def wire(claims: keys.Claims, key: keys.SigningKey = OLD) -> dict[str, Any]:
    return dataclasses.replace(claims, kid=key.kid).to_dict()


def swap_char(text: str, index: int) -> str:
    old = text[index]
    new = "A" if old != "A" else "B"
    return text[:index] + new + text[index + 1 :]


def revocation_text(
    entries: tuple[keys.RevokedEntry, ...] | list[keys.RevokedEntry],
    *,
    stale: bool = False,
    key: keys.SigningKey = OLD,
) -> str:
    issued = AT - timedelta(days=10 if stale else 1)
    rl = keys.RevocationList(
        issued_at=issued, next_update=issued + timedelta(days=7), entries=entries
    )
    return keys.sign_revocation_list(rl, key)


def numbered_list_text(
    sequence: int, entries: tuple[keys.RevokedEntry, ...] = (), *, key: keys.SigningKey = OLD
) -> str:
    """A current list (issued a day before AT) carrying ``sequence`` (spec section 8)."""
    rl = keys.RevocationList(
        issued_at=AT - timedelta(days=1),
        next_update=AT + timedelta(days=6),
        entries=entries,
        sequence=sequence,
    )
    return keys.sign_revocation_list(rl, key)


def many_entries(count: int) -> list[keys.RevokedEntry]:
    """``count`` entries whose list is far longer than a key may be (32,768 characters)."""
    codes = [code for code in keys.REVOCATION_CODES if code != "superseded"]
    return [
        keys.RevokedEntry(
            f"K-{number:05d}", "revoked", AT - timedelta(hours=number), codes[number % 4]
        )
        for number in range(1000, 1000 + count)
    ]


def list_payload(**changes: Any) -> dict[str, Any]:
    """The wire form of an ordinary list (one revoked, one superseded entry), changed."""
    payload: dict[str, Any] = {
        "entries": [
            {
                "code": "key_compromise",
                "revoked_at": ts(AT - timedelta(days=2)),
                "serial": "K-0001",
                "status": "revoked",
            },
            {
                "code": "superseded",
                "revoked_at": ts(AT + timedelta(days=2)),
                "serial": "K-0009",
                "status": "superseded",
            },
        ],
        "issued_at": ts(AT - timedelta(days=1)),
        "kid": OLD.kid,
        "next_update": ts(AT + timedelta(days=6)),
        "version": 2,
    }
    payload.update(changes)
    return payload


def signed_list(
    obj: Any = None, *, raw: bytes | None = None, key: keys.SigningKey = OLD, **changes: Any
) -> str:
    """A list whose payload is exactly ``raw`` (or the canonical JSON of ``obj``, or of
    list_payload(**changes)), correctly signed."""
    if raw is None:
        raw = enc.canonical_json(list_payload(**changes) if obj is None else obj)
    return seal(REVOCATION_PREFIX, REVOCATION_CONTEXT, raw, key)


def entry(serial: str, **changes: Any) -> dict[str, Any]:
    wire = {"code": "key_compromise", "revoked_at": ts(AT), "serial": serial, "status": "revoked"}
    wire.update(changes)
    return wire


#: the cascade vectors' base: built a day before AT, covering keys issued up to 2 minutes before
CASCADE_BUILT = AT - timedelta(days=1)
CASCADE_GENERATION = 1748606400
CASCADE_SALT = bytes(range(16))
FILLER = [f"K-{n}" for n in range(1000, 2000)]  # other keys of the fleet


def cascade_base(
    revoked: set[str],
    others: set[str],
    *,
    stash: dict[str, datetime | None] | None = None,
    generation: int = CASCADE_GENERATION,
    built: datetime = CASCADE_BUILT,
    key: keys.SigningKey = OLD,
) -> bytes:
    """A signed base (spec section 14) over ``revoked`` and ``others``."""
    filter_bytes = build_filter(
        {s.encode() for s in revoked}, {s.encode() for s in others}, CASCADE_SALT
    )
    header = keys.CascadeHeader(
        kind="base",
        kid=key.kid,
        generation=generation,
        base=generation,
        since=generation,
        issued_at=built,
        next_update=built + timedelta(days=7),
        covered_through=built - timedelta(minutes=2),
        count=len(revoked) + len(others),
        server="https://licenses.vendor.example",
    )
    return keys.sign_cascade(header, filter_bytes, stash or {}, key)


def cascade_delta(
    since: int,
    generation: int,
    stash: dict[str, datetime | None],
    *,
    base: int = CASCADE_GENERATION,
    built: datetime = AT - timedelta(minutes=5),
) -> bytes:
    """A signed delta (spec section 14) of base ``base``, following ``since``."""
    header = keys.CascadeHeader(
        kind="delta",
        kid=OLD.kid,
        generation=generation,
        base=base,
        since=since,
        issued_at=built,
        next_update=built + timedelta(days=7),
        covered_through=built - timedelta(minutes=2),
        count=len(stash),
        server="https://licenses.vendor.example",
    )
    return keys.sign_cascade(header, b"", stash, OLD)


def b64(data: bytes) -> str:
    """Standard base64 (with padding) of binary vector fields."""
    import base64

    return base64.b64encode(data).decode("ascii")


def build_vectors() -> list[dict[str, Any]]:
    """Return the list of vectors (each a dict as documented in the spec, section 12)."""
    old_pem = OLD.public_key.to_pem()
    new_pem = NEW.public_key.to_pem()
    base_key = keys.sign_key(BASE, OLD)
    base_file = keys.license_file(base_key)
    temp_key = keys.sign_key(TEMPORARY, OLD)
    prefix, rest = base_key[: len(KEY_PREFIX)], base_key[len(KEY_PREFIX) :]
    payload_b64, sig_b64 = rest.split(".")
    vectors: list[dict[str, Any]] = []

    def add(name: str, key: str, expect: str, at: datetime = AT, **extra: Any) -> None:
        vector: dict[str, Any] = {
            "name": name,
            "public_key_pem": old_pem,
            "key": key,
            "at": extra.pop("at_text", ts(at)),  # at_text: a time with a fraction of a second
            "expect": expect,
        }
        vector.update(extra)
        if expect == "valid":
            vector["claims"] = keys.decode_unverified(key).to_dict()
        vectors.append(vector)

    # --- valid keys, both forms ---
    add("text key, perpetual standard key", base_key, "valid")
    add("license file", base_file, "valid")
    add(
        "license file with CRLF line endings and surrounding whitespace",
        "\r\n  " + base_file.replace("\n", "\r\n") + "\r\n\t ",
        "valid",
    )
    add("text key with surrounding whitespace", "  \n" + base_key + "\n\t", "valid")
    add("temporary key with expiry, reason and supersedes", temp_key, "valid")
    add("license file of a temporary key", keys.license_file(temp_key), "valid")
    unicode_key = keys.sign_key(UNICODE, OLD)
    add("non-ASCII, quote and backslash in text values", unicode_key, "valid")
    add("license file with non-ASCII summary", keys.license_file(unicode_key), "valid")

    # --- key IDs and rotation ---
    rotated = keys.sign_key(dataclasses.replace(BASE, serial="K-0100"), NEW)
    add(
        "key signed by the rotated key, both keys trusted",
        rotated,
        "valid",
        also_trusted_pems=[new_pem],
    )
    add("key signed by the rotated key, only the old key trusted", rotated, "unknown_key_id")
    add(
        "key signed by the old key still verifies after rotation",
        base_key,
        "valid",
        also_trusted_pems=[new_pem],
    )
    add(
        "key signed by the rotated key, only the new key trusted",
        rotated,
        "valid",
        public_key_pem=new_pem,
    )
    add("key signed by an untrusted key", keys.sign_key(BASE, STRANGER), "unknown_key_id")
    forged_kid = signed_payload(wire(BASE, OLD), key=STRANGER)
    add("payload names a trusted kid but another key signed it", forged_kid, "bad_signature")

    # --- signature ---
    other_sig = keys.sign_key(dataclasses.replace(BASE, agents=26), OLD).split(".")[-1]
    add("signature of different claims", f"{prefix}{payload_b64}.{other_sig}", "bad_signature")
    add(
        "single changed character in the signature",
        f"{prefix}{payload_b64}.{swap_char(sig_b64, 10)}",
        "bad_signature",
    )
    tampered_payload = enc.canonical_json(dict(wire(BASE), agents=95))
    add(
        "payload changed (agents 25 -> 95) with the original signature",
        f"{prefix}{enc.b64url_encode(tampered_payload)}.{sig_b64}",
        "bad_signature",
    )
    add(
        "key payload signed with the revocation-list context",
        seal(KEY_PREFIX, REVOCATION_CONTEXT, enc.canonical_json(wire(BASE)), OLD),
        "bad_signature",
    )

    # --- exactly one encoding ---
    add("empty input", "", "malformed")
    add("lowercase prefix", "lk1." + rest, "malformed")
    add("version 2 prefix", "LK2." + rest, "malformed")
    add("revocation list given as a key", revocation_text(()), "malformed")
    add("padding on the payload part", f"{prefix}{payload_b64}=.{sig_b64}", "malformed")
    add("padding on the signature part", f"{prefix}{payload_b64}.{sig_b64}==", "malformed")
    standard_alphabet = base_key.replace("-", "+").replace("_", "/")
    assert standard_alphabet != base_key
    add("standard base64 alphabet instead of base64url", standard_alphabet, "malformed")
    last = sig_b64[-1]
    stray = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray_bits = sig_b64[:-1] + stray[stray.index(last) + 1]
    add(
        "non-zero trailing bits in the signature",
        f"{prefix}{payload_b64}.{stray_bits}",
        "malformed",
    )
    add("space inside the key", base_key[:40] + " " + base_key[40:], "malformed")
    add("line break inside the key", base_key[:64] + "\n" + base_key[64:], "malformed")
    add("three parts", base_key + ".AAAA", "malformed")
    add("truncated signature", base_key[:-2], "malformed")
    obj = wire(BASE)
    members = list(obj.items())
    duplicate = (
        "{"
        + ",".join(
            f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}"
            for k, v in [*members[:1], ("agents", 25), *members[1:]]
        )
        + "}"
    )
    add("duplicate JSON member (signed)", signed_payload(None, raw=duplicate.encode()), "malformed")
    add(
        "members not sorted (signed)",
        signed_payload(
            None, raw=json.dumps(dict(reversed(members)), separators=(",", ":")).encode()
        ),
        "malformed",
    )
    add(
        "extra whitespace in the JSON (signed)",
        signed_payload(None, raw=json.dumps(obj, sort_keys=True).encode()),
        "malformed",
    )
    add(
        "trailing newline after the JSON (signed)",
        signed_payload(None, raw=enc.canonical_json(obj) + b"\n"),
        "malformed",
    )
    add("unknown member (signed)", signed_payload(dict(obj, extra=1)), "malformed")
    without_case = {k: v for k, v in obj.items() if k != "case_number"}
    add("missing member instead of null (signed)", signed_payload(without_case), "malformed")
    add(
        "version 2 in the payload (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, version=2))),
        "malformed",
    )
    add(
        "agents written as 25.0 (signed)",
        signed_payload(None, raw=enc.canonical_json(obj).replace(b'"agents":25', b'"agents":25.0')),
        "malformed",
    )
    add(
        "agents written as true (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, agents=True))),
        "malformed",
    )
    add(
        "agents above 2^53-1 (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, agents=2**53))),
        "malformed",
    )
    add(
        "negative agents (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, agents=-1))),
        "malformed",
    )
    add(
        "\\u escape in a string (signed)",
        signed_payload(None, raw=enc.canonical_json(obj).replace(b"Acme", b"\\u0041cme")),
        "malformed",
    )
    add(
        "timestamp with +00:00 offset (signed)",
        signed_payload(
            None, raw=enc.canonical_json(dict(obj, issued_at="2025-01-01T00:00:00+00:00"))
        ),
        "malformed",
    )
    add(
        "timestamp with fractional seconds (signed)",
        signed_payload(
            None, raw=enc.canonical_json(dict(obj, issued_at="2025-01-01T00:00:00.000Z"))
        ),
        "malformed",
    )
    add(
        "impossible date 2025-02-29 (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, maintenance_until="2025-02-29"))),
        "malformed",
    )
    add(
        "unknown kind (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, kind="forever"))),
        "malformed",
    )
    add(
        "empty host (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, host=""))),
        "malformed",
    )
    add(
        "control character in customer name (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, customer_name="Acme\tCorp"))),
        "malformed",
    )
    add(
        "uppercase kid (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, kid=obj["kid"].upper()))),
        "malformed",
    )
    add(
        "payload is not UTF-8 (signed)",
        signed_payload(None, raw=enc.canonical_json(obj).replace(b"Acme", b"\xffcme")),
        "malformed",
    )
    add(
        "expires_at before not_before (signed)",
        signed_payload(None, raw=enc.canonical_json(dict(obj, expires_at="2024-12-31T00:00:00Z"))),
        "malformed",
    )

    # --- license file encoding ---
    add(
        "license file with an edited summary line",
        base_file.replace("Agents: 25", "Agents: 250"),
        "malformed",
    )
    add(
        "license file with a summary line removed",
        base_file.replace("Case: CASE-1001\n", ""),
        "malformed",
    )
    body = base_file.split("\n\n", 1)[1]
    rewrapped_key = "".join(body.split("\n")[:-2])
    rewrapped = (
        base_file.split("\n\n", 1)[0]
        + "\n\n"
        + "\n".join(rewrapped_key[i : i + 76] for i in range(0, len(rewrapped_key), 76))
        + "\n"
        + keys.license.FILE_END
        + "\n"
    )
    add("license file with the key wrapped at 76 columns", rewrapped, "malformed")
    add(
        "license file with a trailing space on a line",
        base_file.replace("Product: scheduler\n", "Product: scheduler \n"),
        "malformed",
    )
    add(
        "license file without its END line",
        base_file.replace(keys.license.FILE_END, ""),
        "malformed",
    )
    add(
        "license file whose key has a changed signature character",
        keys.license_file(f"{prefix}{payload_b64}.{swap_char(sig_b64, 10)}"),
        "bad_signature",
    )

    # --- validity window ---
    add("not yet valid", temp_key, "not_yet_valid", at=TEMPORARY.not_before - SKEW - SECOND)
    add(
        "valid at not_before minus exactly the clock skew",
        temp_key,
        "valid",
        at=TEMPORARY.not_before - SKEW,
    )
    assert TEMPORARY.expires_at is not None
    add("expired", temp_key, "expired", at=TEMPORARY.expires_at + SKEW + SECOND)
    add(
        "valid at expires_at plus exactly the clock skew",
        temp_key,
        "valid",
        at=TEMPORARY.expires_at + SKEW,
    )
    add(
        "license file of an expired key",
        keys.license_file(temp_key),
        "expired",
        at=TEMPORARY.expires_at + timedelta(days=1),
    )
    add("perpetual key far in the future", base_key, "valid", at=datetime(2999, 1, 1, tzinfo=UTC))

    # --- revocation ---
    add(
        "revoked serial",
        base_key,
        "revoked",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "revoked", AT - timedelta(days=2), "customer_request"),)
        ),
    )
    add(
        "superseded serial still inside its overlap stays valid",
        base_key,
        "valid",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "superseded", AT + timedelta(days=2), "superseded"),)
        ),
    )
    add(
        "superseded serial past its overlap is refused as revoked",
        base_key,
        "revoked",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "superseded", AT - timedelta(days=2), "superseded"),)
        ),
    )
    add(
        "revocation list not listing the serial",
        base_key,
        "valid",
        revocations=revocation_text(
            (keys.RevokedEntry("K-9999", "revoked", AT - timedelta(days=2), "issued_in_error"),)
        ),
    )
    add(
        "stale revocation list",
        base_key,
        "stale_revocation_list",
        revocations=revocation_text((), stale=True),
    )
    stranger_rl = keys.sign_revocation_list(
        keys.RevocationList(
            issued_at=AT - timedelta(days=1), next_update=AT + timedelta(days=6), entries=()
        ),
        STRANGER,
    )
    add(
        "revocation list signed by an untrusted key",
        base_key,
        "unknown_key_id",
        revocations=stranger_rl,
    )

    # --- revocation lists in sequence: a list older than one already seen is refused ---
    add(
        "revocation list older than the newest one seen",
        base_key,
        "stale_revocation_list",
        revocations=numbered_list_text(6),
        anchor_revocation_sequence=7,
    )
    add(
        "revocation list as new as the newest one seen",
        base_key,
        "valid",
        revocations=numbered_list_text(7),
        anchor_revocation_sequence=7,
    )
    add(
        "revocation list newer than the newest one seen",
        base_key,
        "valid",
        revocations=numbered_list_text(8),
        anchor_revocation_sequence=7,
    )
    add(
        "revocation list without a sequence after a numbered one",
        base_key,
        "stale_revocation_list",
        revocations=revocation_text(()),
        anchor_revocation_sequence=1,
    )
    add(
        "revocation list without a sequence and no list seen",
        base_key,
        "valid",
        revocations=revocation_text(()),
        anchor_revocation_sequence=0,
    )
    add(
        "older list naming the serial: stale_revocation_list wins over revoked",
        base_key,
        "stale_revocation_list",
        revocations=numbered_list_text(
            6, (keys.RevokedEntry("K-0001", "revoked", AT - timedelta(days=2), "key_compromise"),)
        ),
        anchor_revocation_sequence=7,
    )
    add(
        "older list and rolled-back clock: clock_rollback wins",
        base_key,
        "clock_rollback",
        revocations=numbered_list_text(6),
        anchor_latest_seen=ts(AT + timedelta(hours=2)),
        anchor_revocation_sequence=7,
    )

    # --- product, host, maintenance ---
    add("expected product matches", base_key, "valid", product="scheduler")
    add("wrong product", base_key, "wrong_product", product="reporter")
    add("product compared exactly (case matters)", base_key, "wrong_product", product="Scheduler")
    add("host matches case-insensitively", base_key, "valid", host="SCHED.Acme.Example")
    add("failover host matches", base_key, "valid", host="dr.acme.example")
    add("wrong host", base_key, "wrong_host", host="other.example")
    add("no failover host on the key", temp_key, "wrong_host", host="dr.acme.example")
    add("build on the last maintenance day is covered", base_key, "valid", build_date="2025-12-31")
    add(
        "build after maintenance ended",
        base_key,
        "maintenance_not_covering",
        build_date="2026-01-01",
    )

    # --- clock rollback ---
    add(
        "clock set back beyond the tolerance",
        base_key,
        "clock_rollback",
        anchor_latest_seen=ts(AT + timedelta(hours=2)),
    )
    add(
        "clock slightly behind the anchor, within tolerance",
        base_key,
        "valid",
        anchor_latest_seen=ts(AT + timedelta(minutes=30)),
    )

    # --- order of the checks: the first failing step wins ---
    add(
        "expired and wrong host: expired wins",
        temp_key,
        "expired",
        at=TEMPORARY.expires_at + timedelta(days=1),
        host="other.example",
    )
    add(
        "revoked and wrong product: revoked wins",
        base_key,
        "revoked",
        product="reporter",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "revoked", AT, "key_compromise"),)
        ),
    )
    add(
        "bad signature and expired: bad_signature wins",
        f"{prefix}{payload_b64}.{other_sig}",
        "bad_signature",
        at=datetime(2999, 1, 1, tzinfo=UTC),
        host="other.example",
    )
    add(
        "unknown key and rolled-back clock: unknown_key_id wins",
        rotated,
        "unknown_key_id",
        anchor_latest_seen=ts(AT + timedelta(days=30)),
    )
    add(
        "rolled-back clock and not yet valid: clock_rollback wins",
        temp_key,
        "clock_rollback",
        at=TEMPORARY.not_before - timedelta(days=1),
        anchor_latest_seen=ts(AT),
    )
    add(
        "wrong product and wrong host: wrong_product wins",
        base_key,
        "wrong_product",
        product="reporter",
        host="other.example",
        build_date="2030-01-01",
    )
    add(
        "wrong host and maintenance: wrong_host wins",
        base_key,
        "wrong_host",
        host="other.example",
        build_date="2030-01-01",
    )

    # --- reading the input (spec section 2) ---
    add("license file with a UTF-8 byte-order mark", "\ufeff" + base_file, "valid")
    add(
        "text key with a byte-order mark and CRLF",
        "\ufeff" + base_key + "\r\n",
        "valid",
    )
    add("license file with two byte-order marks", "\ufeff\ufeff" + base_file, "malformed")
    add(
        "byte-order mark after leading whitespace",
        "\n\ufeff" + base_file,
        "malformed",
    )
    add(
        "license file with lone CR line endings",
        base_file.replace("\n", "\r"),
        "malformed",
    )
    add(
        "license file with one lone CR among CRLF line endings",
        base_file.replace("\n", "\r\n").replace("\r\n", "\r", 1),
        "malformed",
    )
    add("text key followed by a no-break space", base_key + "\u00a0", "malformed")
    add(
        "trusted keys given as one PEM bundle with a comment",
        rotated,
        "valid",
        public_key_pem="# licensesvc vendor keys\n" + old_pem + new_pem,
    )

    # --- sub-second verification times are truncated to the second ---
    add(
        "at with a fraction just past the last valid second is truncated: valid",
        temp_key,
        "valid",
        at_text=ts(TEMPORARY.expires_at + SKEW).replace("Z", ".999Z"),
    )
    add(
        "at one whole second past the last valid second: expired",
        temp_key,
        "expired",
        at=TEMPORARY.expires_at + SKEW + SECOND,
    )

    # --- revocation lists of any length, with reason codes ---
    long_entries = many_entries(400)
    long_list = revocation_text(
        [*long_entries, keys.RevokedEntry("K-0001", "revoked", AT, "contract_ended")]
    )
    assert len(long_list) > enc.MAX_INPUT_LENGTH
    add(
        "serial revoked on a list longer than 32,768 characters",
        base_key,
        "revoked",
        revocations=long_list,
    )
    add(
        "serial not on a list longer than 32,768 characters",
        base_key,
        "valid",
        revocations=revocation_text(long_entries),
    )

    # --- list failures and key failures together: the list is checked first and wins ---
    add(
        "stale list and expired key: stale_revocation_list wins",
        temp_key,
        "stale_revocation_list",
        at=TEMPORARY.expires_at + timedelta(days=1),
        revocations=revocation_text((), stale=True),
    )
    add(
        "list from an untrusted key and malformed key: unknown_key_id wins",
        base_key[:-2],
        "unknown_key_id",
        revocations=revocation_text((), key=STRANGER),
    )
    add(
        "malformed list and bad key signature: the list's malformed wins",
        f"{prefix}{payload_b64}.{other_sig}",
        "malformed",
        revocations=revocation_text(()) + "A",
    )
    add(
        "version 1 list and valid key: malformed",
        base_key,
        "malformed",
        revocations=seal(
            "LRL1.",
            b"licensesvc/revocation-list/v1\n",
            enc.canonical_json(
                {
                    "entries": [],
                    "issued_at": ts(AT - timedelta(days=1)),
                    "kid": OLD.kid,
                    "next_update": ts(AT + timedelta(days=6)),
                    "version": 1,
                }
            ),
            OLD,
        ),
    )

    add_cascade_vectors(add, base_key, temp_key, unicode_key)

    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return vectors


def add_cascade_vectors(add: Any, base_key: str, temp_key: str, unicode_key: str) -> None:
    """Keys checked against a revocation cascade and its deltas (spec section 14), and
    revocation winning over every other failure (spec section 7, step 5)."""
    pending = keys.sign_key(
        dataclasses.replace(
            BASE,
            serial="K-0004",
            not_before=AT + timedelta(days=30),
            expires_at=AT + timedelta(days=40),
        ),
        OLD,
    )
    assert TEMPORARY.expires_at is not None
    EXPIRES = TEMPORARY.expires_at  # noqa: N806
    late = keys.sign_key(
        dataclasses.replace(BASE, serial="K-0005", issued_at=AT - timedelta(hours=1)), OLD
    )
    revoked = {*FILLER[:50], "K-0003", "K-0004"}
    others = {*FILLER[50:], "K-0001", "K-0002"}
    base = b64(cascade_base(revoked, others))
    gen = CASCADE_GENERATION

    def with_cascade(name: str, key: str, expect: str, **extra: Any) -> None:
        add(name, key, expect, **{"revocation_cascade": base, **extra})

    with_cascade("cascade: key not revoked", base_key, "valid")
    with_cascade("cascade: license file of a key not revoked", temp_key, "valid")
    with_cascade("cascade: revoked key", unicode_key, "revoked")
    with_cascade("cascade: revoked key not yet valid, revoked wins", pending, "revoked")
    with_cascade(
        "cascade: revoked key with a wrong host, revoked wins",
        unicode_key,
        "revoked",
        host="other.example",
    )
    with_cascade("cascade: key issued after covered_through", late, "unknown_to_list")
    with_cascade(
        "cascade: key not revoked but expired, expired",
        temp_key,
        "expired",
        at=TEMPORARY.expires_at + timedelta(days=1),
        revocation_cascade=b64(cascade_base(revoked, others, built=EXPIRES + timedelta(hours=1))),
    )
    first = cascade_delta(gen, gen + 300, {})
    with_cascade(
        "cascade and a delta covering a later key",
        late,
        "valid",
        revocation_deltas=[b64(first)],
    )
    with_cascade(
        "cascade and a delta revoking a later key",
        late,
        "revoked",
        revocation_deltas=[b64(cascade_delta(gen, gen + 300, {"K-0005": None}))],
    )
    with_cascade(
        "cascade and two deltas, the second revoking a covered key",
        base_key,
        "revoked",
        revocation_deltas=[b64(first), b64(cascade_delta(gen + 300, gen + 600, {"K-0001": None}))],
    )
    with_cascade(
        "cascade and a delta superseding a key, overlap running",
        base_key,
        "valid",
        revocation_deltas=[b64(cascade_delta(gen, gen + 300, {"K-0001": AT + timedelta(days=2)}))],
    )
    with_cascade(
        "cascade and a delta superseding a key, overlap over",
        base_key,
        "revoked",
        revocation_deltas=[b64(cascade_delta(gen, gen + 300, {"K-0001": AT - timedelta(days=2)}))],
    )
    with_cascade(
        "cascade and a delta that does not follow on (a gap)",
        base_key,
        "revocation_delta_refused",
        revocation_deltas=[b64(cascade_delta(gen + 300, gen + 600, {}))],
    )
    with_cascade(
        "cascade and a delta of another base",
        base_key,
        "revocation_delta_refused",
        revocation_deltas=[b64(cascade_delta(gen + 7, gen + 300, {}, base=gen + 7))],
    )
    with_cascade(
        "cascade and the same delta twice",
        base_key,
        "revocation_delta_refused",
        revocation_deltas=[b64(first), b64(first)],
    )
    with_cascade(
        "stale cascade", base_key, "stale_revocation_list", at=AT + timedelta(days=6, minutes=10)
    )
    with_cascade(
        "cascade signed by an untrusted key",
        base_key,
        "unknown_key_id",
        revocation_cascade=b64(cascade_base(revoked, others, key=STRANGER)),
    )
    flipped = bytearray(cascade_base(revoked, others))
    flipped[-100] ^= 0x10
    with_cascade(
        "cascade with one bit of its filter flipped",
        base_key,
        "bad_signature",
        revocation_cascade=b64(bytes(flipped)),
    )
    with_cascade(
        "cascade cut short",
        base_key,
        "malformed",
        revocation_cascade=b64(cascade_base(revoked, others)[:-1]),
    )
    # more revoked keys than others: the filter's logic is inverted (its flag is 1)
    inverted = b64(cascade_base({*FILLER, "K-0003"}, {"K-0001", "K-0002"}))
    with_cascade(
        "inverted cascade: key not revoked", base_key, "valid", revocation_cascade=inverted
    )
    with_cascade(
        "inverted cascade: revoked key", unicode_key, "revoked", revocation_cascade=inverted
    )
    with_cascade(
        "cascade: superseded key in the base's stash, overlap running",
        base_key,
        "valid",
        revocation_cascade=b64(
            cascade_base(revoked, others, stash={"K-0001": AT + timedelta(days=1)})
        ),
    )
    # revocation wins with the plain list too
    add(
        "revocation list: revoked key not yet valid, revoked wins",
        pending,
        "revoked",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0004", "revoked", AT - timedelta(days=2), "key_compromise"),)
        ),
    )


def build_list_vectors() -> list[dict[str, Any]]:
    """Revocation-list vectors (spec section 12): verify ``revocation_list`` at ``at``."""
    old_pem = OLD.public_key.to_pem()
    vectors: list[dict[str, Any]] = []

    def add(name: str, text: str, expect: str, at: datetime = AT, **extra: Any) -> None:
        vector: dict[str, Any] = {
            "name": name,
            "public_key_pem": old_pem,
            "revocation_list": text,
            "at": ts(at),
            "expect": expect,
        }
        vector.update(extra)
        if expect == "valid":
            payload = json.loads(enc.b64url_decode(enc.read_input(text, "list")[5:].split(".")[0]))
            vector["entries"] = payload["entries"]
            if "sequence" in payload:
                vector["sequence"] = payload["sequence"]
        vectors.append(vector)

    ordinary = signed_list()
    add("list with a revoked and a superseded entry", ordinary, "valid")
    add("empty list", signed_list(entries=[]), "valid")
    add(
        "every reason code",
        signed_list(
            entries=[
                entry(
                    f"K-{index}",
                    code=code,
                    status="superseded" if code == "superseded" else "revoked",
                )
                for index, code in enumerate(keys.REVOCATION_CODES)
            ]
        ),
        "valid",
    )
    add("list longer than 32,768 characters", revocation_text(many_entries(400)), "valid")
    add(
        "serials ordered by code point, not by UTF-16 unit",
        signed_list(entries=[entry("K-\uffff"), entry("K-\U0001f680")]),
        "valid",
    )
    add(
        "serial with quote and backslash",
        signed_list(entries=[entry('K-"1"'), entry("K-\\2")]),
        "valid",
    )
    add("list with a byte-order mark and CRLF", "\ufeff" + ordinary + "\r\n", "valid")
    add("list with surrounding whitespace", "\n\t " + ordinary + " \n", "valid")
    add("list followed by a no-break space", ordinary + "\u00a0", "malformed")
    add("list with a lone CR inside", ordinary[:30] + "\r" + ordinary[30:], "malformed")
    add(
        "list valid at next_update plus exactly the clock skew",
        ordinary,
        "valid",
        at=AT + timedelta(days=6) + SKEW,
    )
    add("stale list", ordinary, "stale_revocation_list", at=AT + timedelta(days=6) + SKEW + SECOND)
    add(
        "list signed by an untrusted key",
        signed_list(key=STRANGER, kid=STRANGER.kid),
        "unknown_key_id",
    )
    add(
        "list naming a trusted kid signed by another key",
        signed_list(key=STRANGER),
        "bad_signature",
    )
    payload_b64, sig_b64 = ordinary[len(REVOCATION_PREFIX) :].split(".")
    emptied = signed_list(entries=[]).split(".")[1]
    add(
        "entries removed, signature kept",
        f"{REVOCATION_PREFIX}{emptied}.{sig_b64}",
        "bad_signature",
    )
    add(
        "list payload signed with the key context",
        seal(REVOCATION_PREFIX, KEY_CONTEXT, enc.canonical_json(list_payload()), OLD),
        "bad_signature",
    )
    add(
        "list payload signed with the version 1 context",
        seal(
            REVOCATION_PREFIX,
            b"licensesvc/revocation-list/v1\n",
            enc.canonical_json(list_payload()),
            OLD,
        ),
        "bad_signature",
    )
    v1 = list_payload(version=1)
    v1["entries"] = [
        {"reason": "reported stolen", "revoked_at": ts(AT), "serial": "K-0001", "status": "revoked"}
    ]
    add(
        "version 1 list (LRL1., free-text reasons)",
        seal("LRL1.", b"licensesvc/revocation-list/v1\n", enc.canonical_json(v1), OLD),
        "malformed",
    )
    add("version 1 payload under the version 2 prefix", signed_list(v1), "malformed")
    add("version 2 prefix, version 1 in the payload", signed_list(version=1), "malformed")
    add(
        "free-text reason instead of a code",
        signed_list(entries=[entry("K-1", code="chargeback")]),
        "malformed",
    )
    add(
        "reason member instead of code",
        signed_list(
            entries=[{"reason": None, "revoked_at": ts(AT), "serial": "K-1", "status": "revoked"}]
        ),
        "malformed",
    )
    add("code null", signed_list(entries=[entry("K-1", code=None)]), "malformed")
    add(
        "superseded entry with another code",
        signed_list(entries=[entry("K-1", status="superseded", code="key_compromise")]),
        "malformed",
    )
    add(
        "revoked entry with the superseded code is valid",
        signed_list(entries=[entry("K-1", code="superseded")]),
        "valid",
    )
    add("unknown status", signed_list(entries=[entry("K-1", status="deleted")]), "malformed")
    add("entries not sorted", signed_list(entries=[entry("K-2"), entry("K-1")]), "malformed")
    add("duplicate serial", signed_list(entries=[entry("K-1"), entry("K-1")]), "malformed")
    add("empty serial", signed_list(entries=[entry("")]), "malformed")
    add("serial of 257 characters", signed_list(entries=[entry("K" * 257)]), "malformed")
    add("control character in a serial", signed_list(entries=[entry("K-\u00851")]), "malformed")
    add(
        "revoked_at with fractional seconds",
        signed_list(entries=[entry("K-1", revoked_at="2025-06-01T12:00:00.5Z")]),
        "malformed",
    )
    add(
        "revoked_at on an impossible day",
        signed_list(entries=[entry("K-1", revoked_at="2025-02-29T00:00:00Z")]),
        "malformed",
    )
    add(
        "revoked_at at hour 24",
        signed_list(entries=[entry("K-1", revoked_at="2025-06-01T24:00:00Z")]),
        "malformed",
    )
    add(
        "next_update equal to issued_at",
        signed_list(next_update=ts(AT - timedelta(days=1))),
        "malformed",
    )
    add("entries is an object", signed_list(entries={}), "malformed")
    add("list with a sequence number", signed_list(sequence=7), "valid")
    add("largest sequence number (2^53 - 1)", signed_list(sequence=2**53 - 1), "valid")
    add("sequence 0 (never written)", signed_list(sequence=0), "malformed")
    add("negative sequence", signed_list(sequence=-1), "malformed")
    add("sequence beyond 2^53 - 1", signed_list(sequence=2**53), "malformed")
    add("sequence as a string", signed_list(sequence="7"), "malformed")
    add("sequence true", signed_list(sequence=True), "malformed")
    add("sequence null", signed_list(sequence=None), "malformed")
    add("sequence with a fraction", signed_list(sequence=7.5), "malformed")
    add(
        "sequence written 7.0",
        signed_list(raw=enc.canonical_json(list_payload(sequence=7)).replace(b":7,", b":7.0,")),
        "malformed",
    )
    add(
        "sequence written 7e0",
        signed_list(raw=enc.canonical_json(list_payload(sequence=7)).replace(b":7,", b":7e0,")),
        "malformed",
    )
    add(
        "sequence with the version 1 context",
        seal(
            REVOCATION_PREFIX,
            b"licensesvc/revocation-list/v1\n",
            enc.canonical_json(list_payload(sequence=7)),
            OLD,
        ),
        "bad_signature",
    )
    add("unknown list member", signed_list(list_payload(extra=1)), "malformed")
    add("unknown entry member", signed_list(entries=[dict(entry("K-1"), note="x")]), "malformed")
    canonical = enc.canonical_json(list_payload())
    add(
        "extra whitespace in the JSON",
        signed_list(raw=json.dumps(list_payload(), sort_keys=True).encode()),
        "malformed",
    )
    add(
        "entry members not sorted",
        signed_list(
            raw=canonical.replace(
                b'{"code":"key_compromise","revoked_at":"2025-05-30T12:00:00Z",',
                b'{"revoked_at":"2025-05-30T12:00:00Z","code":"key_compromise",',
            )
        ),
        "malformed",
    )
    add(
        "duplicate member in an entry",
        signed_list(
            raw=canonical.replace(
                b'{"code":"key_compromise",', b'{"code":"key_compromise","code":"key_compromise",'
            )
        ),
        "malformed",
    )
    add(
        "\\u escape in a serial",
        signed_list(raw=canonical.replace(b"K-0001", b"K-\\u00301")),
        "malformed",
    )
    add("trailing newline inside the payload", signed_list(raw=canonical + b"\n"), "malformed")
    add(
        "payload is not UTF-8",
        signed_list(raw=canonical.replace(b"K-0001", b"K-\xff01")),
        "malformed",
    )
    add("padding on the payload part", f"{REVOCATION_PREFIX}{payload_b64}=.{sig_b64}", "malformed")
    add("license key given as a list", keys.sign_key(BASE, OLD), "malformed")
    add("empty input", "", "malformed")
    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return vectors


def rotation_statement(
    raw_key: bytes | None = None, *, key: keys.SigningKey = OLD, **changes: Any
) -> str:
    new_raw = NEW.public_key.raw() if raw_key is None else raw_key
    statement: dict[str, Any] = {
        "issued_at": ts(AT),
        "kid": key.kid,
        "new_kid": keys.signing.kid_for_raw_public_key(new_raw),
        "new_public_key": enc.b64url_encode(new_raw),
        "version": 1,
    }
    statement.update(changes)
    return seal(ROTATION_PREFIX, ROTATION_CONTEXT, enc.canonical_json(statement), key)


def point_bytes(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


def build_rotation_vectors() -> list[dict[str, Any]]:
    """Rotation-statement vectors (spec section 12): follow ``statement``."""
    old_pem = OLD.public_key.to_pem()
    vectors: list[dict[str, Any]] = []

    def add(name: str, statement: str, expect: str, **extra: Any) -> None:
        vector: dict[str, Any] = {
            "name": name,
            "public_key_pem": old_pem,
            "statement": statement,
            "expect": expect,
        }
        vector.update(extra)
        if expect == "valid":
            vector["new_public_key_pem"] = NEW.public_key.to_pem()
        vectors.append(vector)

    genuine = keys.sign_rotation(OLD, NEW.public_key, at=AT)
    assert genuine == rotation_statement()
    add("rotation signed by the trusted key", genuine, "valid")
    add("rotation with a byte-order mark and CRLF", "\ufeff" + genuine + "\r\n", "valid")
    add("rotation followed by a no-break space", genuine + "\u00a0", "malformed")
    add(
        "rotation signed by an untrusted key",
        keys.sign_rotation(STRANGER, NEW.public_key, at=AT),
        "unknown_key_id",
    )
    evil = keys.sign_rotation(OLD, STRANGER.public_key, at=AT)
    add(
        "new key swapped, signature kept",
        evil.rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1],
        "bad_signature",
    )
    add(
        "rotation payload signed with the key context",
        seal(
            ROTATION_PREFIX,
            KEY_CONTEXT,
            enc.b64url_decode(genuine[len(ROTATION_PREFIX) :].split(".")[0]),
            OLD,
        ),
        "bad_signature",
    )
    add("new_kid does not match the new key", rotation_statement(new_kid=STRANGER.kid), "malformed")
    add(
        "new key of 31 bytes",
        rotation_statement(new_public_key=enc.b64url_encode(bytes(31))),
        "malformed",
    )
    add(
        "new key in standard base64 with padding",
        rotation_statement(new_public_key=base64_std(NEW.public_key.raw())),
        "malformed",
    )
    add("version 2 statement", rotation_statement(version=2), "malformed")
    add(
        "issued_at with an offset",
        rotation_statement(issued_at="2025-06-01T12:00:00+00:00"),
        "malformed",
    )
    p = 2**255 - 19
    y8 = keys.signing._Y_ORDER_8
    small = {
        "identity (y = 1)": point_bytes(1),
        "order 2 (y = -1)": point_bytes(p - 1),
        "order 4 (y = 0)": point_bytes(0),
        "order 4 (y = 0, sign bit set)": point_bytes(0, 1),
        "order 8": point_bytes(y8),
        "order 8, sign bit set": point_bytes(y8, 1),
        "order 8, negated y": point_bytes(p - y8),
        "identity with the sign bit set (non-canonical)": point_bytes(1, 1),
        "y = p (non-canonical 0)": point_bytes(p),
        "y = p + 1 (non-canonical 1)": point_bytes(p + 1),
        "y = 2^255 - 1 (non-canonical)": point_bytes(2**255 - 1 - 0),
    }
    for label, raw in small.items():
        add(
            f"new key of small order or non-canonical: {label}",
            rotation_statement(raw),
            "malformed",
        )
    off_curve = next(
        y
        for y in range(2, 100)
        if pow((y * y - 1) * pow(keys.signing._D * y * y + 1, -1, p) % p, (p - 1) // 2, p) != 1
    )
    add("new key not on the curve", rotation_statement(point_bytes(off_curve)), "malformed")
    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return vectors


def base64_std(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def _dump(vectors: list[dict[str, Any]]) -> str:
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


def render() -> str:
    """Return the text of keys.json."""
    return _dump(build_vectors())


def render_all() -> dict[Path, str]:
    """Return every vectors file's path and text."""
    return {
        OUTPUT: render(),
        LIST_OUTPUT: _dump(build_list_vectors()),
        ROTATION_OUTPUT: _dump(build_rotation_vectors()),
    }


def main() -> None:
    for path, text in render_all().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
