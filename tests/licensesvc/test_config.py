"""licensesvc/config.py: the policy from the environment, development secrets."""

from __future__ import annotations

import pytest

from licensesvc.config import ConfigurationError, Policy, Settings


def test_policy_reads_environment_and_rejects_nonsense(tmp_path):
    env = {
        "LICENSESVC_DATA_DIR": str(tmp_path),
        "LICENSESVC_POLICY_GRACE_DAYS": "10",
        "LICENSESVC_POLICY_TEMPORARY_MAY_OUTLIVE_CONTRACT": "true",
    }
    settings = Settings.from_env(env)
    assert settings.policy.grace_days == 10
    assert settings.policy.temporary_may_outlive_contract is True
    assert settings.database_url.startswith("sqlite:///")
    with pytest.raises(ConfigurationError, match="LICENSESVC_POLICY_GRACE_DAYS"):
        Policy.from_env({"LICENSESVC_POLICY_GRACE_DAYS": "ten"})
    with pytest.raises(ConfigurationError, match="SIGNING_KEY_PASSPHRASE"):
        Settings.from_env({"LICENSESVC_ENV": "production", "LICENSESVC_SECRET_KEY": "s"})


def test_development_secrets_are_generated_once_and_private(tmp_path):
    a = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    b = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    assert a.secret_key == b.secret_key and a.signing_key_passphrase == b.signing_key_passphrase
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert a.secret_key not in repr(a)
