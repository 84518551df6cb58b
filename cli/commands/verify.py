"""`licensesvc verify`: check a license key offline, as an installer would.

OFFLINE: this module imports click, the `keys` library and the standard library only: no
database, no configuration, no flask, no sqlalchemy, nothing of `licensesvc`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import click

import keys
from cli.errors import CannotCheck
from cli.output import fields, json_option, print_json
from cli.params import ISO_DATE, ISO_TIMESTAMP
from cli.state import current_state

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


def load_public_keys(paths: tuple[Path, ...]) -> list[keys.PublicKey]:
    """Every public key in the PEM files (a file may hold several, as export-public --all
    writes them). Raises CannotCheck naming the file."""
    found: list[keys.PublicKey] = []
    for path in paths:
        try:
            text = path.read_text()
        except OSError as exc:
            raise CannotCheck(f"cannot read public key {path}: {exc.strerror}") from None
        blocks = _PEM_BLOCK.findall(text) or [text]
        for block in blocks:
            try:
                found.append(keys.PublicKey.from_pem(block))
            except keys.KeyConfigurationError as exc:
                raise CannotCheck(f"{path}: {exc}") from None
    return found


def _summary(claims: keys.Claims) -> list[tuple[str, Any]]:
    return [
        ("serial", claims.serial),
        ("customer", f"{claims.customer_name} ({claims.customer_id})"),
        ("license", claims.license_id),
        ("product", claims.product),
        ("kind", claims.kind),
        (
            "host",
            claims.host + (f" (failover {claims.failover_host})" if claims.failover_host else ""),
        ),
        ("expires", claims.expires_at or "never (perpetual)"),
        ("maintenance until", claims.maintenance_until),
    ]


@click.command()
@click.argument("keyfile", type=click.File("r"))
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of a trusted public key; repeat it (or give a bundle) across rotations.",
)
@click.option(
    "--at",
    type=ISO_TIMESTAMP,
    help="Check as of this moment (YYYY-MM-DDTHH:MM:SSZ; default: now).",
)
@click.option(
    "--revocations",
    type=click.File("r"),
    help="A signed revocation list (`licensesvc revocations export`); revoked keys fail.",
)
@click.option("--product", help="Fail unless the key is for this product.")
@click.option("--host", help="Fail unless the key is bound to this host (or its failover).")
@click.option(
    "--build-date",
    type=ISO_DATE,
    help="Fail if a build of this date is past the key's maintenance (YYYY-MM-DD).",
)
@json_option
def verify(
    keyfile: IO[str],
    public_keys: tuple[Path, ...],
    at: datetime | None,
    revocations: IO[str] | None,
    product: str | None,
    host: str | None,
    build_date: date | None,
) -> None:
    """Check a license key or license file offline, with only the vendor's public key.

    Exit 0 and `valid` with a summary when the key is acceptable; exit 1 and
    `<code>: <message>` (e.g. `expired`, `revoked`, `bad_signature`) when it is not; exit 2
    when the check cannot be made (unreadable public key). KEYFILE `-` reads stdin.
    No database and no configuration are used.

    \b
    Example:
      licensesvc verify acme.lic --public-key vendor-public.pem
      licensesvc verify acme.lic --public-key old.pem --public-key new.pem \\
          --revocations revocations.lrl --host sched01.acme.example --at 2026-06-01T00:00:00Z
    """
    as_json = current_state().json
    trusted = load_public_keys(public_keys)
    moment = at or datetime.now(UTC)
    try:
        try:
            text = keyfile.read()
            revocation_text = revocations.read().strip() if revocations is not None else None
        except UnicodeDecodeError:
            raise keys.MalformedKey("The file is not text; expected a license key.") from None
        revocation_list = (
            keys.verify_revocation_list(revocation_text, trusted, at=moment)
            if revocation_text is not None
            else None
        )
        claims = keys.verify(
            text,
            trusted,
            at=moment,
            product=product,
            host=host,
            build_date=build_date,
            revocations=revocation_list,
        )
    except keys.LicenseKeyError as exc:
        if as_json:
            print_json(
                {
                    "valid": False,
                    "code": exc.code,
                    "message": exc.message,
                    "checked_at": moment,
                    "claims": exc.claims.to_dict() if exc.claims else None,
                }
            )
        else:
            click.echo(f"{exc.code}: {exc.message}")
        click.get_current_context().exit(1)
    if as_json:
        print_json(
            {"valid": True, "code": "valid", "checked_at": moment, "claims": claims.to_dict()}
        )
    else:
        click.echo("valid")
        click.echo(fields(_summary(claims)))
