"""Configuration from LICENSESVC_* environment variables, with documented defaults.

Nothing here imports Flask: the CLI and the services read the same settings.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "LICENSESVC_"
#: after-hours cover windows (the only text-valued policy numbers)
COVER_CHOICES = ("24x5", "24x7")
#: the seed's "Phone Support (Sev 1 and Sev2)" number
DEFAULT_SUPPORT_PHONE = "1-800-261-5267"


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
    #: temporary keys active at once per license (Premium)
    max_active_temporary_keys: int = 1
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
    secret_key: str = field(repr=False)
    signing_key_passphrase: str = field(repr=False)
    data_dir: Path
    policy: Policy = field(default_factory=Policy)
    #: issuer name printed in license files and the API reference
    issuer: str = "licensesvc"
    #: the phone number a Sev 1 or Sev 2 escalation tells the customer to call
    support_phone: str = DEFAULT_SUPPORT_PHONE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment. With nothing set, an embedded SQLite file and
        generated secrets under ./var (mode 0600) make a working development setup."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get(f"{PREFIX}DATA_DIR", "var")).resolve()
        database_url = env.get(f"{PREFIX}DATABASE_URL") or f"sqlite:///{data_dir / 'licensesvc.db'}"
        secret_key = env.get(f"{PREFIX}SECRET_KEY")
        passphrase = env.get(f"{PREFIX}SIGNING_KEY_PASSPHRASE")
        if not secret_key or not passphrase:
            if env.get(f"{PREFIX}ENV", "development") == "production":
                missing = [
                    n
                    for n, v in (("SECRET_KEY", secret_key), ("SIGNING_KEY_PASSPHRASE", passphrase))
                    if not v
                ]
                raise ConfigurationError(
                    "production needs " + " and ".join(PREFIX + m for m in missing)
                )
            generated = _development_secrets(data_dir)
            secret_key = secret_key or generated["secret_key"]
            passphrase = passphrase or generated["signing_key_passphrase"]
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            signing_key_passphrase=passphrase,
            data_dir=data_dir,
            policy=Policy.from_env(env),
            issuer=env.get(f"{PREFIX}ISSUER", "licensesvc"),
            support_phone=env.get(f"{PREFIX}SUPPORT_PHONE") or DEFAULT_SUPPORT_PHONE,
        )

    def with_policy(self, **changes: Any) -> Settings:
        return replace(self, policy=replace(self.policy, **changes))


def _development_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for a development setup, generated once and kept beside the SQLite file."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "secret_key": secrets.token_urlsafe(32),
        "signing_key_passphrase": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values
