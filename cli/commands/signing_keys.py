"""`licensesvc signing-key`: the Ed25519 keys that sign license keys."""

from __future__ import annotations

from pathlib import Path

import click

from cli import serialize
from cli.output import emit, fields, json_option, out_option, table, write_or_print
from cli.state import CliState, pass_state


@click.group("signing-key")
def signing_key() -> None:
    """Generate, rotate, list, publish and re-encrypt signing keys.

    \b
    Example:
      licensesvc signing-key generate
      licensesvc signing-key export-public --out vendor-public.pem
    """


def _summary(data: dict[str, object]) -> str:
    return fields(
        [("kid", data["kid"]), ("status", data["status"]), ("created", data["created_at"])]
    )


@signing_key.command("generate")
@json_option
@pass_state
def generate(state: CliState) -> None:
    """Create the first signing key (its private half encrypted at rest).

    Fails when a key is already active: use `signing-key rotate` then.

    \b
    Example:
      licensesvc signing-key generate
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        data = serialize.signing_key(issuance.generate_signing_key(ctx))
    emit(state.json, data, lambda: _summary(data))


@signing_key.command("rotate")
@json_option
@pass_state
def rotate(state: CliState) -> None:
    """Retire the active signing key and activate a new one.

    The rotation statement is signed by the retired key; keys it signed keep verifying.
    Give installers the new public key (`signing-key export-public --all`).

    \b
    Example:
      licensesvc signing-key rotate
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        data = serialize.signing_key(issuance.rotate_signing_key(ctx))
    emit(state.json, data, lambda: _summary(data))


@signing_key.command("list")
@json_option
@pass_state
def list_(state: CliState) -> None:
    """List signing keys, active and retired.

    \b
    Example:
      licensesvc signing-key list
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        rows = [
            _with_protection(rec, issuance.protection(rec.private_key_encrypted).label)
            for rec in issuance.list_signing_keys(ctx)
        ]
    emit(state.json, rows, lambda: table(rows, LIST_COLUMNS))


LIST_COLUMNS = [
    ("KID", "kid"),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
    ("RETIRED", "retired_at"),
    ("PROTECTION", "protection"),
]


def _with_protection(rec: object, protection: str) -> dict[str, object]:
    """A signing key's row (rec: its record) and how its private key is protected."""
    return {**serialize.signing_key(rec), "protection": protection}


@signing_key.command("rewrap")
@json_option
@pass_state
def rewrap(state: CliState) -> None:
    """Re-encrypt private keys stored with fewer than 600,000 PBKDF2 rounds.

    Keys made before this release are protected by 2,048 rounds (`signing-key list` shows
    each key's protection under PROTECTION). They keep working as they are; this re-encrypts
    them under the same LICENSESVC_SIGNING_KEY_PASSPHRASE with the current count, records
    each in the audit trail and leaves the others alone (running it twice changes nothing).
    Key IDs and public keys do not change.

    \b
    Example:
      licensesvc signing-key rewrap
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        rows = [
            _with_protection(rec, issuance.protection(rec.private_key_encrypted).label)
            for rec in issuance.rewrap_signing_keys(ctx)
        ]
    emit(
        state.json,
        rows,
        lambda: (
            "\n".join(f"re-encrypted {row['kid']} ({row['protection']})" for row in rows)
            or "every signing key already has the current protection; nothing changed"
        ),
    )


@signing_key.command("export-public")
@out_option("Write the PEM to this file instead of stdout.")
@click.option(
    "--all",
    "all_keys",
    is_flag=True,
    help="Every public key, retired ones included (installers verifying older keys).",
)
@json_option
@pass_state
def export_public(state: CliState, out: Path | None, all_keys: bool) -> None:
    """Print or write the active public key as PEM: what installers are given.

    \b
    Example:
      licensesvc signing-key export-public --out vendor-public.pem
      licensesvc signing-key export-public --all --out vendor-public-all.pem
    """
    from licensesvc import issuance

    with state.unit_of_work() as ctx:
        records = issuance.list_signing_keys(ctx) if all_keys else [issuance.active_record(ctx)]
        exported = [
            {"kid": rec.kid, "status": rec.status, "pem": rec.public_key_pem} for rec in records
        ]
    pem = "".join(
        item["pem"] if item["pem"].endswith("\n") else item["pem"] + "\n" for item in exported
    )
    kids = ", ".join(item["kid"] for item in exported)
    write_or_print(
        state.json,
        out,
        pem,
        document={"out": str(out) if out else None, "keys": exported},
        wrote=f"wrote {len(exported)} public key(s) ({kids}) to {out}",
    )
