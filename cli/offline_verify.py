"""`licensesvc verify`, the implementation: the standard library and `keys`, nothing else.

Installers run this, often on every start of the licensed product, so it must start fast and
must not load click, the database layer or the web framework. `cli.main.main` dispatches
`licensesvc [--json] [--as NAME] verify ...` here before importing click; the click command
(cli/commands/verify.py) only forwards its arguments here, so that `licensesvc --help` lists it
and in-process callers (CliRunner) reach it too. One implementation either way.

Behaviour (options, outputs, exit codes) is the click command's as it was: exit 0 and `valid`
plus a summary; exit 1 and `<code>: <message>` when the key is not acceptable; exit 2 with a
click-style `Usage: ... Error: ...` block for bad arguments, or `Error: ...` when the check
cannot be made (unreadable public key).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, NoReturn

import keys

PROG = "licensesvc verify"
USAGE = f"{PROG} [OPTIONS] KEYFILE"
SUMMARY = "Check a license key or license file offline, with only the vendor's public key."
DESCRIPTION = f"""\
{SUMMARY}

Exit 0 and `valid` with a summary when the key is acceptable; exit 1 and
`<code>: <message>` (e.g. `expired`, `revoked`, `bad_signature`) when it is not; exit 2
when the check cannot be made (unreadable public key). KEYFILE `-` reads stdin.
No database and no configuration are used.

Example:
  licensesvc verify acme.lic --public-key vendor-public.pem
  licensesvc verify acme.lic --public-key old.pem --public-key new.pem \\
      --revocations revocations.lrl --host sched01.acme.example --at 2026-06-01T00:00:00Z
"""

EXIT_INVALID = 1  # the key is not acceptable
EXIT_CANNOT_CHECK = 2  # bad arguments, unreadable public key: no verdict

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)
# The formats of cli/params.py (ISO_DATE, ISO_TIMESTAMP), which import click.
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:\d{2})?)?$"
)


class UsageError(Exception):
    """Bad command-line arguments: exit 2 after the usage lines."""


class CannotCheck(Exception):
    """The check could not be made (unreadable public key): exit 2."""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Click's look (`Usage:`, at most 100 columns). argparse makes a formatter for every
    add_argument; given a width, it does not import shutil (and bz2, lzma, ...) to find one."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=27, width=_terminal_width())

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix="Usage: ")


def _terminal_width() -> int:
    try:
        # sys.__stdout__ may be None: AttributeError, caught below
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # not a terminal
        columns = 80
    return min(columns, 100) - 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        description=DESCRIPTION,
        formatter_class=_HelpFormatter,
        add_help=False,
        allow_abbrev=False,
    )
    parser.add_argument("keyfile", nargs="?", metavar="KEYFILE", help="the key or file; - = stdin")
    option = parser.add_argument
    option(
        "--public-key",
        dest="public_keys",
        action="append",
        default=[],
        metavar="FILE",
        help="PEM file of a trusted public key; repeat it (or give a bundle) across rotations. "
        "[required]",
    )
    option(
        "--at",
        metavar="TIMESTAMP",
        help="Check as of this moment (YYYY-MM-DDTHH:MM:SSZ; default: now).",
    )
    option(
        "--revocations",
        metavar="FILENAME",
        help="A signed revocation list (`licensesvc revocations export`); revoked keys fail.",
    )
    option("--product", metavar="TEXT", help="Fail unless the key is for this product.")
    option(
        "--host",
        metavar="TEXT",
        help="Fail unless the key is bound to this host (or its failover).",
    )
    option(
        "--build-date",
        metavar="YYYY-MM-DD",
        help="Fail if a build of this date is past the key's maintenance (YYYY-MM-DD).",
    )
    option(
        "--json",
        action="store_true",
        help="Print one JSON document (object or list) to stdout, nothing else.",
    )
    option("-h", "--help", action="help", help="Show this message and exit.")
    return parser


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _invalid(name: str, problem: str) -> UsageError:
    return UsageError(f"Invalid value for {name!r}: {problem}")


def _parse_timestamp(text: str) -> datetime:
    """YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], or a date (its midnight); no zone means UTC."""
    stripped = text.strip()
    moment = None
    if _TIMESTAMP_RE.match(stripped):
        try:
            moment = datetime.fromisoformat(stripped.replace("z", "Z"))
        except ValueError:
            moment = None
    if moment is None:
        raise _invalid(
            "--at",
            f"{text!r} is not a timestamp; expected YYYY-MM-DDTHH:MM:SSZ (or YYYY-MM-DD)",
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_date(text: str) -> date:
    stripped = text.strip()
    if _DATE_RE.match(stripped):
        try:
            return date.fromisoformat(stripped)
        except ValueError:
            pass
    raise _invalid("--build-date", f"{text!r} is not a date; expected YYYY-MM-DD")


def _open_text(name: str, path: str, stdin: IO[str]) -> IO[str]:
    if path == "-":
        return stdin
    try:
        return open(path)  # closed by the caller
    except OSError as exc:
        raise _invalid(name, f"{path!r}: {exc.strerror}") from None


def _check_public_key_path(path: str) -> Path:
    found = Path(path)
    if not found.exists():
        raise _invalid("--public-key", f"File {path!r} does not exist.")
    if found.is_dir():
        raise _invalid("--public-key", f"File {path!r} is a directory.")
    return found


def load_public_keys(paths: Sequence[Path]) -> list[keys.PublicKey]:
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


# --------------------------------------------------------------------------------------------
# Output (the formats of cli/output.py, which imports click)
# --------------------------------------------------------------------------------------------


def _iso(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, date | datetime):
        return _iso(value)
    return str(value)


def _summary(claims: keys.Claims) -> str:
    pairs: list[tuple[str, Any]] = [
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
    width = max(len(label) for label, _ in pairs)
    return "\n".join(f"{label.ljust(width)}  {_cell(value)}".rstrip() for label, value in pairs)


def _print_json(document: dict[str, Any], out: IO[str]) -> None:
    import json  # only for --json

    document = {**document, "checked_at": _iso(document["checked_at"])}
    print(json.dumps(document, indent=2, ensure_ascii=False), file=out)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run(argv: Sequence[str], *, as_json: bool = False) -> int:
    """Run `licensesvc verify ARGV...`; print to sys.stdout/sys.stderr and return the exit
    status. ``as_json`` is the group-level `licensesvc --json`."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        return _verify(argv, as_json, sys.stdin, stdout)
    except SystemExit as exc:  # argparse after printing --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(
            f"Usage: {USAGE}\nTry '{PROG} --help' for help.\n\nError: {exc}",
            file=stderr,
        )
    except CannotCheck as exc:
        print(f"Error: {exc}", file=stderr)
    return EXIT_CANNOT_CHECK


def _verify(argv: Sequence[str], as_json: bool, stdin: IO[str], out: IO[str]) -> int:
    args, extra = _parser().parse_known_args(list(argv))  # -h/--help exits here
    for word in extra:
        if word.startswith("-") and word != "-":
            raise UsageError(f"No such option {word!r}.")
        raise UsageError(f"Got unexpected extra argument ({word})")
    if args.keyfile is None:
        raise UsageError("Missing argument 'KEYFILE'.")
    keyfile = _open_text("KEYFILE", args.keyfile, stdin)
    try:
        if not args.public_keys:
            raise UsageError("Missing option '--public-key'.")
        public_key_paths = [_check_public_key_path(path) for path in args.public_keys]
        at = None if args.at is None else _parse_timestamp(args.at)
        build_date = None if args.build_date is None else _parse_date(args.build_date)
        revocations = None
        if args.revocations is not None:
            revocations = _open_text("--revocations", args.revocations, stdin)
        try:
            return _check(
                keyfile,
                public_key_paths,
                at=at,
                revocations=revocations,
                product=args.product,
                host=args.host,
                build_date=build_date,
                as_json=as_json or args.json,
                out=out,
            )
        finally:
            if revocations is not None and revocations is not stdin:
                revocations.close()
    finally:
        if keyfile is not stdin:
            keyfile.close()


def _check(
    keyfile: IO[str],
    public_key_paths: Sequence[Path],
    *,
    at: datetime | None,
    revocations: IO[str] | None,
    product: str | None,
    host: str | None,
    build_date: date | None,
    as_json: bool,
    out: IO[str],
) -> int:
    trusted = load_public_keys(public_key_paths)
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
            _print_json(
                {
                    "valid": False,
                    "code": exc.code,
                    "message": exc.message,
                    "checked_at": moment,
                    "claims": exc.claims.to_dict() if exc.claims else None,
                },
                out,
            )
        else:
            print(f"{exc.code}: {exc.message}", file=out)
        return EXIT_INVALID
    if as_json:
        _print_json(
            {"valid": True, "code": "valid", "checked_at": moment, "claims": claims.to_dict()},
            out,
        )
    else:
        print(f"valid\n{_summary(claims)}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
