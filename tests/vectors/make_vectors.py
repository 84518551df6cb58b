"""Generate tests/vectors/keys.json, the cross-language test vectors of the key format.

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
from keys.revocation import REVOCATION_CONTEXT  # noqa: E402
from keys.signing import seal  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "keys.json"

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


def revocation_text(entries: tuple[keys.RevokedEntry, ...], *, stale: bool = False) -> str:
    issued = AT - timedelta(days=10 if stale else 1)
    rl = keys.RevocationList(
        issued_at=issued, next_update=issued + timedelta(days=7), entries=entries
    )
    return keys.sign_revocation_list(rl, OLD)


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
            "at": ts(at),
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
            (keys.RevokedEntry("K-0001", "revoked", AT - timedelta(days=2), "customer request"),)
        ),
    )
    add(
        "superseded serial still inside its overlap stays valid",
        base_key,
        "valid",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "superseded", AT + timedelta(days=2)),)
        ),
    )
    add(
        "superseded serial past its overlap is refused as revoked",
        base_key,
        "revoked",
        revocations=revocation_text(
            (keys.RevokedEntry("K-0001", "superseded", AT - timedelta(days=2)),)
        ),
    )
    add(
        "revocation list not listing the serial",
        base_key,
        "valid",
        revocations=revocation_text(
            (keys.RevokedEntry("K-9999", "revoked", AT - timedelta(days=2)),)
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
        revocations=revocation_text((keys.RevokedEntry("K-0001", "revoked", AT),)),
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

    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    return vectors


def render() -> str:
    """Return the text of keys.json."""
    return json.dumps(build_vectors(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
