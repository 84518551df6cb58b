"""The exceptions of the ``keys`` package: one root, :class:`KeysError`, so that
``except keys.KeysError`` catches everything the package raises on purpose (as
sigstore-python's ``sigstore.errors.Error``). Under it, three families kept apart:

* :class:`LicenseKeyError` - "this key (or list, or statement) is not acceptable". Every
  subclass has a stable ``code`` that clients, the HTTP API and the CLI print.
* :class:`KeyConfigurationError` - "you configured me wrong": a bad PEM, a wrong passphrase,
  a key that is not Ed25519, trusted keys that are not public keys.
* :class:`InvalidValue` - a value the format cannot carry, passed by the caller (a naive
  datetime, an unknown kind, a host with a control character). It is a ``ValueError`` too,
  as these were before the root existed. While a key is read, the same problems are reported
  as :class:`MalformedKey` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

# defined apart so that keys._encoding can raise InvalidValue without importing this module,
# which names Claims (keys.claims imports keys._encoding: a cycle)
from keys._root import InvalidValue as InvalidValue
from keys._root import KeysError as KeysError

if TYPE_CHECKING:
    from keys.claims import Claims


class KeyConfigurationError(KeysError):
    """A signing or public key could not be loaded or is not an Ed25519 key."""


class LicenseKeyError(KeysError):
    """Root of every verification failure; ``code`` names the failure."""

    code: ClassVar[str] = "license_key_error"
    default_message: ClassVar[str] = "The license key is not acceptable."

    def __init__(self, message: str | None = None, *, claims: Claims | None = None) -> None:
        self.message: str = message if message is not None else self.default_message
        # Set only when the failure was found after the signature checked out.
        self.claims: Claims | None = claims
        super().__init__(self.message)


class MalformedKey(LicenseKeyError):
    code = "malformed"
    default_message = "The license key is not in the expected format."


class BadSignature(LicenseKeyError):
    code = "bad_signature"
    default_message = "The license key's signature does not match its content."


class UnknownKeyId(LicenseKeyError):
    code = "unknown_key_id"
    default_message = "The license key was signed by a key that is not trusted here."


class Expired(LicenseKeyError):
    code = "expired"
    default_message = "The license key has expired."


class NotYetValid(LicenseKeyError):
    code = "not_yet_valid"
    default_message = "The license key is not valid yet."


class WrongProduct(LicenseKeyError):
    code = "wrong_product"
    default_message = "The license key is for a different product."


class WrongHost(LicenseKeyError):
    code = "wrong_host"
    default_message = "The license key is bound to a different host."


class MaintenanceNotCovering(LicenseKeyError):
    code = "maintenance_not_covering"
    default_message = "This build was released after the license's maintenance ended."


class Revoked(LicenseKeyError):
    code = "revoked"
    default_message = "The license key has been revoked."


class ClockRollback(LicenseKeyError):
    code = "clock_rollback"
    default_message = "The system clock appears to have been turned back."


class StaleRevocationList(LicenseKeyError):
    code = "stale_revocation_list"
    default_message = "The revocation list is out of date; fetch a current one."


class UnknownToList(LicenseKeyError):
    code = "unknown_to_list"
    default_message = (
        "The revocation cascade cannot speak for this key (issued after it was built); "
        "fetch a current one or its deltas."
    )


class RevocationDeltaRefused(LicenseKeyError):
    code = "revocation_delta_refused"
    default_message = "The revocation delta does not follow on from the cascade it was given."


ERROR_CLASSES: tuple[type[LicenseKeyError], ...] = (
    MalformedKey,
    BadSignature,
    UnknownKeyId,
    Expired,
    NotYetValid,
    WrongProduct,
    WrongHost,
    MaintenanceNotCovering,
    Revoked,
    ClockRollback,
    StaleRevocationList,
    UnknownToList,
    RevocationDeltaRefused,
)

ERROR_CODES: tuple[str, ...] = tuple(cls.code for cls in ERROR_CLASSES)
