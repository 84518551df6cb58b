"""`licensesvc verify`, the implementation: the standard library and `keys`, nothing else.

Installers run this, often on every start of the licensed product, so it must start fast and
must not load click, the database layer or the web framework. `cli.main.main` dispatches
`licensesvc [--json] [--as NAME] verify ...` here before importing click; the click command
(cli/commands/verify.py) only forwards its arguments here, so that `licensesvc --help` lists it
and in-process callers (CliRunner) reach it too. One implementation either way.

Behaviour (options, outputs, exit codes) is the click command's as it was: exit 0 and `valid`
plus a summary; exit 1 and `<code>: <message>` when the key is not acceptable; exit 2 with a
click-style `Usage: ... Error: ...` block for bad arguments (including a missing, unreadable or
directory KEYFILE or --revocations file), or `Error: ...` when the check cannot be made
(unreadable public key). Never a traceback: a closed stdout (`... | head -1`) ends the command
quietly with the verdict's own exit status.

Files are read as bytes and handed to `keys` undecoded, so that the spec's reading rule
(docs/key-format.md section 2: UTF-8, BOM, line endings) is applied in one place and this
command answers exactly as `keys.verify` does. Text from the key or the files is printed with
control characters escaped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import keys

PROG = "licensesvc verify"
USAGE = f"{PROG} [OPTIONS] KEYFILE"
SUMMARY = "Check a license key or license file offline, with only the vendor's public key."
DESCRIPTION = f"""\
{SUMMARY}

Exit 0 and `valid` with a summary when the key is acceptable; exit 1 and
`<code>: <message>` (e.g. `expired`, `revoked`, `bad_signature`) when it is not; exit 2
when the check cannot be made (missing or unreadable file, unreadable public key).
KEYFILE `-` reads stdin. A revocation list is checked before the key: when it fails
(e.g. `stale_revocation_list`), that is the answer. No database and no configuration
are used.

Example:
  licensesvc verify acme.lic --public-key vendor-public.pem
  licensesvc verify acme.lic --public-key old.pem --public-key new.pem \\
      --revocations revocations.lrl --host sched01.acme.example --at 2026-06-01T00:00:00Z
"""

EXIT_INVALID = 1  # the key is not acceptable
EXIT_CANNOT_CHECK = 2  # bad arguments, unreadable public key: no verdict

# What must not reach a terminal raw: C0 controls but LF, DEL, C1 controls (CSI is U+009B),
# line and paragraph separators, and the bidirectional overrides that reorder a line.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_LINE = re.compile(f"\n|{_UNSAFE.pattern}")
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
        help="Check as of this moment (YYYY-MM-DDTHH:MM:SSZ; default: now). A fraction of a "
        "second is truncated, as the spec compares whole seconds.",
    )
    option(
        "--revocations",
        action="append",
        default=[],
        metavar="FILENAME",
        help="A signed revocation list (`licensesvc revocations export`; any length) or "
        "revocation cascade (`--format cascade`), told apart by their first bytes; repeat it "
        "after a cascade to apply its deltas in order. Revoked keys fail, and so does a stale "
        "or untrusted list, a delta out of order, or a key the cascade cannot speak for "
        "(`unknown_to_list`). - = stdin.",
    )
    option(
        "--anchor",
        metavar="FILE",
        help="Remember here the latest time and the newest revocation list seen (a MAC'd file, "
        "its secret in FILE.secret, both 0600, made on first use): a clock set back, or a "
        "revocation list older than one already seen, fails (`clock_rollback`, "
        "`stale_revocation_list`).",
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
        "--log-key",
        metavar="VKEY",
        help="The transparency log's verifier key (GET /v1/log/key; a file holding it will "
        "do): a log proof in the file must prove the key (docs/transparency.md).",
    )
    option(
        "--require-logged",
        action="store_true",
        help="Fail (`not_logged`) unless the file proves the key is in the transparency log; "
        "needs --log-key.",
    )
    option(
        "--log-state",
        metavar="FILE",
        help="Remember here the largest log checkpoint seen: a smaller or different one fails "
        "(`log_rollback`).",
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
            f"{_shown(text)} is not a timestamp; expected YYYY-MM-DDTHH:MM:SSZ (or YYYY-MM-DD)",
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
    raise _invalid("--build-date", f"{_shown(text)} is not a date; expected YYYY-MM-DD")


def _load_anchor(path: Path) -> keys.TimeAnchor:
    """The anchor at path, with its MAC secret from path + `.secret` (32 random bytes, made
    0600 on first use). Raises ClockRollback for an altered anchor; CannotCheck when the
    secret cannot be read or made."""
    import secrets  # only here: the usual verify imports as little as it can

    import keys

    secret_path = path.with_name(path.name + ".secret")
    try:
        try:
            fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = secret_path.read_bytes()
        else:
            secret = secrets.token_bytes(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secret)
    except OSError as exc:
        raise CannotCheck(
            f"the anchor's secret {_shown(str(secret_path))} cannot be used: {exc.strerror or exc}"
        ) from None
    if not secret:
        raise CannotCheck(f"the anchor's secret {_shown(str(secret_path))} is empty")
    return keys.TimeAnchor.load(path, secret)


def _read_file(name: str, path: str, stdin: IO[str]) -> bytes:
    """The bytes of a KEYFILE or --revocations file (`-`: stdin); UsageError otherwise."""
    if path == "-":
        stream = getattr(stdin, "buffer", None)
        try:
            if stream is not None:
                return bytes(stream.read())
            return stdin.read().encode("utf-8", errors="surrogateescape")
        except OSError as exc:
            raise _invalid(name, f"stdin cannot be read: {exc.strerror or exc}.") from None
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise _invalid(name, f"File {_shown(path)} does not exist.") from None
    except IsADirectoryError:
        raise _invalid(name, f"File {_shown(path)} is a directory.") from None
    except OSError as exc:
        raise _invalid(name, f"File {_shown(path)} cannot be read: {exc.strerror}.") from None


def _check_public_key_path(path: str) -> Path:
    found = Path(path)
    if not found.exists():
        raise _invalid("--public-key", f"File {_shown(path)} does not exist.")
    if found.is_dir():
        raise _invalid("--public-key", f"File {_shown(path)} is a directory.")
    return found


def load_public_keys(paths: Sequence[Path]) -> list[keys.PublicKey]:
    """Every public key in the PEM files (a file may hold several, as export-public --all
    writes them: docs/key-format.md section 1). Raises CannotCheck naming the file."""
    import keys  # not for --help

    found: list[keys.PublicKey] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CannotCheck(
                f"cannot read public key {_escape(str(path))}: {exc.strerror}"
            ) from None
        try:
            found.extend(keys.public_keys_from_pem(data))
        except keys.KeyConfigurationError as exc:
            raise CannotCheck(f"{_escape(str(path))}: {exc}") from None
    return found


def _shown(path: str) -> str:
    return _escape(repr(path))


def _escape(text: str) -> str:
    """``text`` with every character unsafe for a terminal (except LF) escaped."""
    return _UNSAFE.sub(_escaped, text)


def _escape_line(text: str) -> str:
    """``text`` escaped for one line: LF too."""
    return _UNSAFE_IN_LINE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
    return "\n".join(
        f"{label.ljust(width)}  {_escape_line(_cell(value))}".rstrip() for label, value in pairs
    )


def _json_text(document: dict[str, Any]) -> str:
    import json  # only for --json

    document = {**document, "checked_at": _iso(document["checked_at"])}
    # json escapes C0 controls itself; C1 controls, separators and bidi overrides it writes
    # raw (ensure_ascii=False), so they get \u escapes here, which JSON readers decode back.
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run(argv: Sequence[str], *, as_json: bool = False) -> int:
    """Run `licensesvc verify ARGV...`; print to sys.stdout/sys.stderr and return the exit
    status. ``as_json`` is the group-level `licensesvc --json`.

    Never raises for anything a user can do: a stdout closed early (`| head -1`) gives the
    verification's own status with nothing more printed."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        status, text = _verify(argv, as_json, sys.stdin)
        stream = stdout
    except SystemExit as exc:  # argparse after printing --help
        return _flushed(stdout, exc.code if isinstance(exc.code, int) else 0)
    except UsageError as exc:
        status, stream = EXIT_CANNOT_CHECK, stderr
        text = f"Usage: {USAGE}\nTry '{PROG} --help' for help.\n\nError: {exc}\n"
    except CannotCheck as exc:
        status, stream, text = EXIT_CANNOT_CHECK, stderr, f"Error: {exc}\n"
    try:
        stream.write(text)
    except BrokenPipeError:
        _discard(stream)
        return status
    return _flushed(stream, status)


def _flushed(stream: IO[str], status: int) -> int:
    try:
        stream.flush()
    except BrokenPipeError:
        _discard(stream)
    return status


def _discard(stream: IO[str]) -> None:
    """After a reader went away: point the stream's descriptor at /dev/null, so that the
    interpreter's final flush does not fail too (Python's documented recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (CliRunner)
        pass


def _verify(argv: Sequence[str], as_json: bool, stdin: IO[str]) -> tuple[int, str]:
    args, extra = _parser().parse_known_args(list(argv))  # -h/--help exits here
    for word in extra:
        if word.startswith("-") and word != "-":
            raise UsageError(f"No such option {_shown(word)}.")
        raise UsageError(f"Got unexpected extra argument ({_escape_line(word)})")
    if args.keyfile is None:
        raise UsageError("Missing argument 'KEYFILE'.")
    if [args.keyfile, *args.revocations].count("-") > 1:
        raise UsageError("KEYFILE and --revocations cannot both be read from stdin ('-').")
    key_data = _read_file("KEYFILE", args.keyfile, stdin)
    if not args.public_keys:
        raise UsageError("Missing option '--public-key'.")
    public_key_paths = [_check_public_key_path(path) for path in args.public_keys]
    at = None if args.at is None else _parse_timestamp(args.at)
    build_date = None if args.build_date is None else _parse_date(args.build_date)
    revocation_data = [_read_file("--revocations", path, stdin) for path in args.revocations]
    if args.require_logged and args.log_key is None:
        raise UsageError("--require-logged needs --log-key.")
    if args.log_state is not None and args.log_key is None:
        raise UsageError("--log-state needs --log-key.")
    return _check(
        key_data,
        public_key_paths,
        log_key=None if args.log_key is None else _load_log_key(args.log_key),
        require_logged=args.require_logged,
        log_state=None if args.log_state is None else Path(args.log_state),
        at=at,
        revocations=revocation_data,
        anchor_path=None if args.anchor is None else Path(args.anchor),
        product=args.product,
        host=args.host,
        build_date=build_date,
        as_json=as_json or args.json,
    )


def _revocations(
    given: Sequence[bytes] | bytes | None, trusted: list[keys.PublicKey], moment: datetime
) -> keys.RevocationList | keys.RevocationCascade | None:
    """The verified plain list, or cascade with its deltas applied, in ``given`` (each form
    known by its first bytes: ``LRC1`` is a cascade); None when there is none."""
    import keys

    pieces = [given] if isinstance(given, bytes) else list(given or ())
    if not pieces:
        return None
    if pieces[0][:4] == b"LRC1":
        from keys.cascade import verify_revocation_cascade

        return verify_revocation_cascade(pieces[0], trusted, deltas=pieces[1:], at=moment)
    if len(pieces) > 1:
        raise UsageError("Only a revocation cascade takes deltas (more than one --revocations).")
    return keys.verify_revocation_list(pieces[0], trusted, at=moment)


def _check(
    key_data: bytes,
    public_key_paths: Sequence[Path],
    *,
    at: datetime | None,
    revocations: Sequence[bytes] | bytes | None,
    product: str | None,
    host: str | None,
    build_date: date | None,
    as_json: bool,
    anchor_path: Path | None = None,
    log_key: Any = None,
    require_logged: bool = False,
    log_state: Path | None = None,
) -> tuple[int, str]:
    import keys

    trusted = load_public_keys(public_key_paths)
    # Whole seconds, as keys.verify compares them (docs/key-format.md section 7).
    moment = (at or datetime.now(UTC)).replace(microsecond=0)
    try:
        # The list first (spec section 7, step 5): when it fails, that is the answer.
        revocation_list = _revocations(revocations, trusted, moment)
        claims = keys.verify(
            key_data,
            trusted,
            at=moment,
            product=product,
            host=host,
            build_date=build_date,
            revocations=revocation_list,
            anchor=None if anchor_path is None else _load_anchor(anchor_path),
        )
        if log_key is not None:
            _check_logged(key_data, claims, log_key, require_logged, log_state)
    except keys.LicenseKeyError as exc:
        if as_json:
            return EXIT_INVALID, _json_text(
                {
                    "valid": False,
                    "code": exc.code,
                    "message": exc.message,
                    "checked_at": moment,
                    "claims": exc.claims.to_dict() if exc.claims else None,
                }
            )
        return EXIT_INVALID, f"{exc.code}: {_escape_line(exc.message)}\n"
    if as_json:
        return 0, _json_text(
            {"valid": True, "code": "valid", "checked_at": moment, "claims": claims.to_dict()}
        )
    return 0, f"valid\n{_summary(claims)}\n"


def _load_log_key(value: str) -> Any:
    """The --log-key vkey (or the vkey in the file it names). UsageError otherwise."""
    from keys import KeyConfigurationError, tlog

    text = value
    if "+" not in value and Path(value).is_file():
        text = Path(value).read_text(encoding="utf-8").strip()
    try:
        return tlog.LogVerifier.from_vkey(text)
    except KeyConfigurationError as exc:
        raise _invalid("--log-key", str(exc)) from None


def _check_logged(
    key_data: bytes, claims: Any, log_key: Any, required: bool, state_path: Path | None
) -> None:
    """Step 8 (docs/transparency.md): the file's log proof proves this key under the log key;
    with a state file, its checkpoint is not older than, nor different from, the largest seen.
    Raises NotLogged, BadCheckpoint, LogRollback."""
    from keys import tlog

    text = key_data.decode("utf-8", errors="replace").replace("\r\n", "\n").lstrip("\ufeff")
    license_text, proof = tlog.split_license_file(text)
    if proof is None and not required:
        return
    checkpoint = tlog.verify_key_logged(
        tlog.text_key_of(license_text), claims.serial, proof, log_key
    )
    if state_path is None:
        return
    seen = None
    if state_path.exists():
        seen = tlog.verify_checkpoint(state_path.read_text(encoding="utf-8"), log_key)
    tlog.check_not_rolled_back(seen, checkpoint)
    if seen is None or checkpoint.tree_size > seen.tree_size:
        assert proof is not None
        state_path.write_text(proof.checkpoint, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
