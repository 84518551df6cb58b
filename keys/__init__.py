"""License key format, signing and offline verification.

Imports only the standard library and ``cryptography``: this is what an installer embeds.
The format is specified in docs/key-format.md.

The time anchor, revocation lists and rotation statements are imported on first use (module
``__getattr__``), so that a process that only verifies a key does not pay for them.
"""

from typing import TYPE_CHECKING, Any

from keys.claims import CLOCK_SKEW, FORMAT_VERSION, KINDS, TEMPORARY_REASONS, Claims
from keys.errors import (
    ERROR_CODES,
    BadSignature,
    ClockRollback,
    Expired,
    InvalidValue,
    KeyConfigurationError,
    KeysError,
    LicenseKeyError,
    MaintenanceNotCovering,
    MalformedKey,
    NotYetValid,
    RevocationDeltaRefused,
    Revoked,
    StaleRevocationList,
    UnknownKeyId,
    UnknownToList,
    WrongHost,
    WrongProduct,
)
from keys.license import (
    KEY_PREFIX,
    Verifier,
    check_claims,
    decode_unverified,
    license_file,
    sign_key,
    verify,
)
from keys.signing import PublicKey, SigningKey, public_keys_from_pem

if TYPE_CHECKING:
    from keys.anchor import ROLLBACK_TOLERANCE, TimeAnchor
    from keys.cascade import (
        CascadeHeader,
        FilterCascade,
        RevocationCascade,
        sign_cascade,
        verify_revocation_cascade,
    )
    from keys.revocation import (
        REVOCATION_CODES,
        RevocationList,
        RevokedEntry,
        sign_revocation_list,
        verify_revocation_list,
    )
    from keys.rotation import follow_rotation, sign_rotation

#: name -> the module defining it, imported on first access
_LAZY = {
    "ROLLBACK_TOLERANCE": "keys.anchor",
    "TimeAnchor": "keys.anchor",
    "REVOCATION_CODES": "keys.revocation",
    "RevocationList": "keys.revocation",
    "RevokedEntry": "keys.revocation",
    "sign_revocation_list": "keys.revocation",
    "verify_revocation_list": "keys.revocation",
    "CascadeHeader": "keys.cascade",
    "FilterCascade": "keys.cascade",
    "RevocationCascade": "keys.cascade",
    "sign_cascade": "keys.cascade",
    "verify_revocation_cascade": "keys.cascade",
    "follow_rotation": "keys.rotation",
    "sign_rotation": "keys.rotation",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later accesses do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CLOCK_SKEW",
    "ERROR_CODES",
    "FORMAT_VERSION",
    "KEY_PREFIX",
    "KINDS",
    "ROLLBACK_TOLERANCE",
    "TEMPORARY_REASONS",
    "BadSignature",
    "CascadeHeader",
    "FilterCascade",
    "Claims",
    "ClockRollback",
    "Expired",
    "InvalidValue",
    "KeyConfigurationError",
    "KeysError",
    "LicenseKeyError",
    "MaintenanceNotCovering",
    "MalformedKey",
    "NotYetValid",
    "PublicKey",
    "REVOCATION_CODES",
    "RevocationCascade",
    "RevocationDeltaRefused",
    "RevocationList",
    "RevokedEntry",
    "Revoked",
    "SigningKey",
    "StaleRevocationList",
    "TimeAnchor",
    "UnknownKeyId",
    "UnknownToList",
    "Verifier",
    "check_claims",
    "WrongHost",
    "WrongProduct",
    "decode_unverified",
    "follow_rotation",
    "license_file",
    "public_keys_from_pem",
    "sign_cascade",
    "sign_key",
    "sign_revocation_list",
    "sign_rotation",
    "verify",
    "verify_revocation_cascade",
    "verify_revocation_list",
]
