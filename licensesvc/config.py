"""Configuration from LICENSESVC_* environment variables, with documented defaults.

Nothing here imports Flask: the CLI and the services read the same settings.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import secrets
import stat
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "LICENSESVC_"
#: after-hours cover windows (the only text-valued policy numbers)
COVER_CHOICES = ("24x5", "24x7")
#: the seed's "Phone Support (Sev 1 and Sev2)" number
DEFAULT_SUPPORT_PHONE = "1-800-261-5267"
#: the seed's "Email Support" address: what the portal tells customers to write to unless
#: LICENSESVC_SUPPORT_EMAIL names the deployment's own
DEFAULT_SUPPORT_EMAIL = "support@jamsscheduler.com"

#: the values LICENSESVC_ENV may take, spelled exactly so
ENVIRONMENTS = ("development", "production")
#: production refuses LICENSESVC_SECRET_KEY and LICENSESVC_SIGNING_KEY_PASSPHRASE shorter than
#: this many bytes (UTF-8): 32 random bytes are 256 bits; `secrets.token_urlsafe(32)` gives 43
MIN_SECRET_BYTES = 32
#: ... and one whose estimated entropy is under this many bits (secret_entropy_bits): 32 x
#: `a` is 0 bits, a short pattern repeated is the pattern's bits (16 hex digits twice: 64).
#: Of 300,000 `secrets.token_hex(16)` (32 hex digits, the shortest random secret accepted) the
#: lowest estimate was 88 and the median 116; `secrets.token_urlsafe(32)`: median 209
MIN_SECRET_BITS = 80
#: PBKDF2-HMAC-SHA256 iterations for private signing keys at rest (OWASP's 2023 figure)
SIGNING_KEY_KDF_ROUNDS = 600_000
#: the development secrets file, beside the SQLite file in the data directory
DEV_SECRETS = "dev-secrets.json"

#: what each key derived from LICENSESVC_SECRET_KEY is for, and its HKDF `info` label; a key
#: for one purpose reveals nothing about the others (RFC 5869)
KEY_PURPOSES: Mapping[str, bytes] = {
    "token-hash": b"licensesvc v1 api-token-hash",
    "session": b"licensesvc v1 flask-session",
    "csrf": b"licensesvc v1 portal-csrf",
    # the customer commitments of the transparency log (licensesvc/transparency/leaves.py)
    "log-commitment": b"licensesvc v1 log-customer-commitment",
}


class ConfigurationError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Policy:
    """The policy numbers the vendor's support overview leaves open. Each one is an
    environment variable `LICENSESVC_POLICY_<NAME>` (upper case); README lists them."""

    #: days after maintenance paid-through during which keys are still issued
    grace_days: int = 0
    #: a DR-test key is valid from this many days before the test date ...
    dr_window_days_before: int = 2
    #: ... to this many days after it (inclusive of the test day)
    dr_window_days_after: int = 5
    #: the test date must be at least this many days ahead ("in advance of" the test)
    dr_min_lead_days: int = 1
    #: and at most this many days ahead
    dr_max_lead_days: int = 180
    #: DR-test keys per contract year (contract years run from the contract start date)
    dr_keys_per_contract_year: int = 2
    #: days a superseded key stays usable after its replacement is issued
    replacement_overlap_days: int = 14
    #: moves of a license to a new host per contract year (a replacement naming a new host;
    #: the first move counts as one); beyond it `quota_exceeded`, which may be escalated
    host_moves_per_contract_year: int = 4
    #: temporary keys active at once per license (Premium)
    max_active_temporary_keys: int = 1
    #: major upgrades with support outside business hours per contract year (Premium)
    upgrades_per_contract_year: int = 1
    #: whether a 120-day temporary key may run past the contract end date
    temporary_may_outlive_contract: bool = False
    #: severity given to a key request when the caller names none
    default_severity: int = 3
    #: days of validity of the signed revocation list before installers treat it as stale
    revocation_list_days: int = 7
    #: after-hours cover for Sev 1 ("24x5 or 24x7 support for SEV 1 issues"), by plan
    sev1_cover_base: str = "24x5"
    sev1_cover_premium: str = "24x7"
    #: Sev 4 status updates are "as agreed upon with customer": business days unless agreed
    sev4_update_business_days: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Policy:
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"{PREFIX}POLICY_{f.name.upper()}"
            raw = environ.get(name)
            if raw is None:
                continue
            if f.type in ("bool", bool):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")
                values[f.name] = raw.lower() in ("1", "true", "yes")
            elif f.type in ("str", str):
                if raw not in COVER_CHOICES:
                    raise ConfigurationError(
                        f"{name} must be one of {', '.join(COVER_CHOICES)}, not {raw!r}"
                    )
                values[f.name] = raw
            else:
                try:
                    number = int(raw)
                except ValueError:
                    raise ConfigurationError(
                        f"{name} must be a whole number, not {raw!r}"
                    ) from None
                if number < 0:
                    raise ConfigurationError(f"{name} must not be negative")
                values[f.name] = number
        policy = cls(**values)
        if not 1 <= policy.default_severity <= 4:
            raise ConfigurationError(f"{PREFIX}POLICY_DEFAULT_SEVERITY must be 1 to 4")
        return policy

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Settings:
    database_url: str
    #: the root secret; nothing uses it directly, every use has its own derived key
    secret_key: str = field(repr=False)
    signing_key_passphrase: str = field(repr=False)
    data_dir: Path
    policy: Policy = field(default_factory=Policy)
    #: the phone number a Sev 1 or Sev 2 escalation tells the customer to call
    support_phone: str = DEFAULT_SUPPORT_PHONE
    #: the vendor's support address, told of every escalation and of a case's first overdue
    #: (LICENSESVC_SUPPORT_EMAIL); None: those messages wait, failed, in the outbox
    support_email: str | None = None
    #: networks a webhook URL may reach although private or loopback, `http` allowed there
    #: (LICENSESVC_WEBHOOK_ALLOW, comma-separated, e.g. `127.0.0.1/32,10.20.0.0/16`)
    webhook_allow: tuple[str, ...] = ()
    #: `development` or `production` (LICENSESVC_ENV)
    environment: str = "development"
    #: the server's public URL (LICENSESVC_PUBLIC_URL), signed into the revocation cascade so
    #: that an installer's message says where to fetch a current one; "" when not set (the API
    #: then signs the URL the request that built it came to)
    public_url: str = ""
    #: PBKDF2 iterations for new private signing keys at rest. `from_env` always uses
    #: SIGNING_KEY_KDF_ROUNDS; only the test suite builds Settings with fewer, so that its
    #: hundreds of throwaway keys do not each cost 0.15 s of CPU
    signing_key_kdf_rounds: int = SIGNING_KEY_KDF_ROUNDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment. With nothing set, an embedded SQLite file and
        generated secrets under ./var (folder 0700, files 0600) make a working development
        setup. Raises ConfigurationError naming the variable: LICENSESVC_ENV other than
        `development` or `production`; in production, a secret missing, under 32 bytes or
        guessable (secret_entropy_bits), the passphrase equal to the secret key, or no
        LICENSESVC_DATABASE_URL. A message never contains a secret's value."""
        env = os.environ if environ is None else environ
        environment = env.get(f"{PREFIX}ENV", "development")
        if environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"{PREFIX}ENV must be exactly `development` or `production`, not {environment!r}"
            )
        data_dir = Path(env.get(f"{PREFIX}DATA_DIR", "var")).resolve()
        explicit_url = env.get(f"{PREFIX}DATABASE_URL")
        database_url = explicit_url or f"sqlite:///{data_dir / 'licensesvc.db'}"
        secret_key = env.get(f"{PREFIX}SECRET_KEY")
        passphrase = env.get(f"{PREFIX}SIGNING_KEY_PASSPHRASE")
        if environment == "production":
            _check_production(explicit_url, secret_key, passphrase)
        elif not secret_key or not passphrase:
            generated = _development_secrets(data_dir)
            secret_key = secret_key or generated["secret_key"]
            passphrase = passphrase or generated["signing_key_passphrase"]
        assert secret_key and passphrase  # _check_production refused the rest
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            signing_key_passphrase=passphrase,
            data_dir=data_dir,
            policy=Policy.from_env(env),
            support_phone=env.get(f"{PREFIX}SUPPORT_PHONE") or DEFAULT_SUPPORT_PHONE,
            support_email=_support_email(env),
            webhook_allow=_webhook_allow(env),
            environment=environment,
            public_url=env.get(f"{PREFIX}PUBLIC_URL", "").strip(),
        )

    def with_policy(self, **changes: Any) -> Settings:
        return replace(self, policy=replace(self.policy, **changes))

    def derived_key(self, purpose: str) -> bytes:
        """Return the 32-byte key for purpose (a name in KEY_PURPOSES), derived from
        LICENSESVC_SECRET_KEY with HKDF-SHA256. Raises KeyError for an unknown purpose."""
        return _hkdf(self.secret_key.encode(), KEY_PURPOSES[purpose])

    @property
    def customer_support_email(self) -> str:
        """The address customers are told to write to: LICENSESVC_SUPPORT_EMAIL, else the
        seed's (DEFAULT_SUPPORT_EMAIL)."""
        return self.support_email or DEFAULT_SUPPORT_EMAIL

    @property
    def token_hash_key(self) -> bytes:
        """The HMAC key of stored API-token hashes."""
        return self.derived_key("token-hash")

    @property
    def session_key(self) -> bytes:
        """Flask's SECRET_KEY: signs session cookies."""
        return self.derived_key("session")

    @property
    def csrf_key(self) -> bytes:
        """Flask-WTF's WTF_CSRF_SECRET_KEY: signs the portal's CSRF tokens."""
        return self.derived_key("csrf")


@lru_cache(maxsize=32)
def _hkdf(secret: bytes, info: bytes) -> bytes:
    # every authenticated request needs the token key: derive it once per process
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def secret_entropy_bits(value: str) -> float:
    """Return a generous estimate of the entropy of value in bits: the length of its shortest
    repeating unit (`abcabc` -> `abc`) times the Shannon entropy of that unit's own character
    frequencies. A heuristic that catches repetition and tiny alphabets (32 x `a` is 0), not a
    proof of randomness."""
    unit = value
    for size in range(1, len(value) // 2 + 1):
        if len(value) % size == 0 and value[:size] * (len(value) // size) == value:
            unit = value[:size]
            break
    if not unit:
        return 0.0
    n = len(unit)
    per_character = sum(c / n * math.log2(n / c) for c in Counter(unit).values())
    return per_character * n


def _check_production(
    database_url: str | None, secret_key: str | None, passphrase: str | None
) -> None:
    """Raise one ConfigurationError naming every production requirement that is not met."""
    problems = []
    for name, value in (("SECRET_KEY", secret_key), ("SIGNING_KEY_PASSPHRASE", passphrase)):
        if not value:
            problems.append(f"{PREFIX}{name} is not set")
        elif len(value.encode()) < MIN_SECRET_BYTES:
            problems.append(
                f"{PREFIX}{name} is {len(value.encode())} bytes, needs at least "
                f"{MIN_SECRET_BYTES} (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        elif secret_entropy_bits(value) < MIN_SECRET_BITS:
            problems.append(
                f"{PREFIX}{name} is guessable (repeated or few distinct characters: about "
                f"{secret_entropy_bits(value):.0f} bits, needs {MIN_SECRET_BITS}; e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')"
            )
    if secret_key and passphrase and secret_key == passphrase:
        problems.append(
            f"{PREFIX}SIGNING_KEY_PASSPHRASE is the same as {PREFIX}SECRET_KEY; give each its "
            "own (one leaked must not unlock the other)"
        )
    if not database_url:
        problems.append(
            f"{PREFIX}DATABASE_URL is not set (production does not run on the SQLite file "
            "under the data directory by default; name the database explicitly)"
        )
    if problems:
        raise ConfigurationError("production: " + "; ".join(problems))


def private_directory(path: Path) -> None:
    """Create path (and its parents) if missing; a folder created here is 0700, whatever the
    umask. An existing folder keeps its mode."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask; say it exactly


def private_sqlite_file(database: str) -> None:
    """Prepare the SQLite database file named in a URL (the part after `sqlite:///`): its
    folder (0700 if created here), the file created empty with mode 0600 before SQLite opens
    it (SQLite then gives its -wal and -shm files the same mode), and a file of ours left
    group- or world-readable by an older version tightened to 0600, with its -wal and -shm.
    In-memory databases and `file:` URIs are left to SQLite."""
    name = database.split("?", 1)[0]
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    private_directory(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # not ours to create (read-only place, a folder...): SQLite says what is wrong
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = file.stat()
            if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
                os.chmod(file, 0o600)
        except OSError:
            continue  # absent (no -wal yet) or not ours


def _development_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for a development setup, generated once and kept beside the SQLite file.

    Several processes may start at once on a fresh checkout (gunicorn workers, a CLI command):
    each writes its candidate to a temporary file in the same folder and publishes it with
    os.link, which fails if the name exists. One wins; everyone then reads the winner's
    complete file."""
    path = data_dir / DEV_SECRETS
    existing = _read_dev_secrets(path)
    if existing is not None:
        return existing
    private_directory(data_dir)
    values = {
        "secret_key": secrets.token_urlsafe(32),
        "signing_key_passphrase": secrets.token_urlsafe(32),
    }
    fd, candidate = tempfile.mkstemp(dir=data_dir, prefix=f".{DEV_SECRETS}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp made it 0600
            json.dump(values, fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process published first: use its secrets
    finally:
        os.unlink(candidate)
    published = _read_dev_secrets(path)
    if published is None:  # pragma: no cover - only if someone deleted it this instant
        raise ConfigurationError(f"{path} vanished while it was being created; start again")
    return published


def _read_dev_secrets(path: Path) -> dict[str, str] | None:
    """The development secrets in path, or None when there is no such file. Raises
    ConfigurationError when it is not what this module writes."""
    # A file published by os.link is complete. One written in place (by an older version, or
    # being written right now by one) may be seen empty or half-written: wait briefly.
    deadline = time.monotonic() + 0.5
    while True:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            loaded = json.loads(text)
            break
        except ValueError:
            if time.monotonic() > deadline:
                raise ConfigurationError(
                    f"{path} is not valid JSON; delete it to generate new development secrets "
                    "(tokens and signing keys made with the old ones stop working)"
                ) from None
            time.sleep(0.02)
    names = ("secret_key", "signing_key_passphrase")
    if not isinstance(loaded, dict) or not all(
        isinstance(loaded.get(n), str) and loaded[n] for n in names
    ):
        raise ConfigurationError(f"{path} lacks {' or '.join(names)}; delete it to regenerate")
    return {n: loaded[n] for n in names}


def _support_email(env: Mapping[str, str]) -> str | None:
    value = env.get(f"{PREFIX}SUPPORT_EMAIL", "").strip()
    if not value:
        return None
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or any(c.isspace() or c in "<>,;" for c in value):
        raise ConfigurationError(
            f"{PREFIX}SUPPORT_EMAIL must be one address (e.g. support@vendor.example)"
        )
    return value


def _webhook_allow(env: Mapping[str, str]) -> tuple[str, ...]:
    networks = []
    for part in env.get(f"{PREFIX}WEBHOOK_ALLOW", "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigurationError(
                f"{PREFIX}WEBHOOK_ALLOW must be comma-separated networks (e.g. 127.0.0.1/32), "
                f"not {part!r}"
            ) from None
    return tuple(networks)
