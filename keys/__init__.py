"""License key format, signing and offline verification.

Imports only the standard library and ``cryptography``: this is what an installer embeds.
The format is specified in docs/key-format.md.
"""

from keys.anchor import ROLLBACK_TOLERANCE, TimeAnchor
from keys.claims import CLOCK_SKEW, FORMAT_VERSION, KINDS, TEMPORARY_REASONS, Claims
from keys.errors import (
    ERROR_CODES,
    BadSignature,
    ClockRollback,
    Expired,
    KeyConfigurationError,
    LicenseKeyError,
    MaintenanceNotCovering,
    MalformedKey,
    NotYetValid,
    Revoked,
    StaleRevocationList,
    UnknownKeyId,
    WrongHost,
    WrongProduct,
)
from keys.license import KEY_PREFIX, decode_unverified, license_file, sign_key, verify
from keys.revocation import (
    RevocationList,
    RevokedEntry,
    sign_revocation_list,
    verify_revocation_list,
)
from keys.rotation import follow_rotation, sign_rotation
from keys.signing import PublicKey, SigningKey

__all__ = [
    "CLOCK_SKEW",
    "ERROR_CODES",
    "FORMAT_VERSION",
    "KEY_PREFIX",
    "KINDS",
    "ROLLBACK_TOLERANCE",
    "TEMPORARY_REASONS",
    "BadSignature",
    "Claims",
    "ClockRollback",
    "Expired",
    "KeyConfigurationError",
    "LicenseKeyError",
    "MaintenanceNotCovering",
    "MalformedKey",
    "NotYetValid",
    "PublicKey",
    "RevocationList",
    "RevokedEntry",
    "Revoked",
    "SigningKey",
    "StaleRevocationList",
    "TimeAnchor",
    "UnknownKeyId",
    "WrongHost",
    "WrongProduct",
    "decode_unverified",
    "follow_rotation",
    "license_file",
    "sign_key",
    "sign_revocation_list",
    "sign_rotation",
    "verify",
    "verify_revocation_list",
]
