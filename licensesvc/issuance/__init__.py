"""The issuance package."""

from .entitlements import (
    cached_report,
    entitlement_report,
)
from .errors import (
    KeyRequestRefused,
)
from .issued_keys import (
    get_key,
    key_view,
    license_file_for,
    list_keys,
    page_keys,
    revoke_key,
    signed_revocation_list,
    verify_online,
)
from .key_requests import (
    KeyRequestOutcome,
    case_view,
    deny_case,
    escalate_case,
    get_case,
    grant_case,
    license_keys,
    live_keys,
    page_cases,
    request_key,
)
from .quotas import (
    dr_test_quota,
    temporary_quota,
    used,
)
from .refusals import (
    request_and_record,
)
from .revocation_lists import (
    current,
    current_or_rebuild,
    mark_outdated,
)
from .signing import (
    CANNOT_DECRYPT,
    PUBLISHED_KEYS_MAX_AGE,
    Protection,
    SigningKeyUnavailable,
    active_key_problem,
    active_record,
    active_signer,
    encrypt_private_key,
    ensure_signing_key,
    generate_signing_key,
    list_signing_keys,
    load_private,
    protection,
    rewrap_signing_keys,
    rotate_signing_key,
    trusted_public_keys,
)

__all__ = [
    "CANNOT_DECRYPT",
    "KeyRequestOutcome",
    "KeyRequestRefused",
    "PUBLISHED_KEYS_MAX_AGE",
    "Protection",
    "SigningKeyUnavailable",
    "active_key_problem",
    "active_record",
    "active_signer",
    "cached_report",
    "case_view",
    "current",
    "current_or_rebuild",
    "deny_case",
    "dr_test_quota",
    "encrypt_private_key",
    "ensure_signing_key",
    "entitlement_report",
    "escalate_case",
    "generate_signing_key",
    "get_case",
    "get_key",
    "grant_case",
    "key_view",
    "license_file_for",
    "license_keys",
    "list_keys",
    "list_signing_keys",
    "live_keys",
    "load_private",
    "mark_outdated",
    "page_cases",
    "page_keys",
    "protection",
    "request_and_record",
    "request_key",
    "revoke_key",
    "rewrap_signing_keys",
    "rotate_signing_key",
    "signed_revocation_list",
    "temporary_quota",
    "trusted_public_keys",
    "used",
    "verify_online",
]
