"""SQLAlchemy models. Import from here: `from licensesvc.models import Customer`."""

from .base import Base
from .entities import (
    CASE_STATUSES,
    KEY_KINDS,
    KEY_STATUSES,
    PLANS,
    PRIMARY_KINDS,
    REGIONS,
    ApiToken,
    AuditRecord,
    Contract,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
    QuotaSlot,
    SigningKeyRecord,
    User,
)
from .portal import PasswordResetToken, PortalFormToken, PortalSession

__all__ = [
    "CASE_STATUSES",
    "KEY_KINDS",
    "KEY_STATUSES",
    "PLANS",
    "PRIMARY_KINDS",
    "REGIONS",
    "ApiToken",
    "AuditRecord",
    "Base",
    "Contract",
    "Customer",
    "IssuedKey",
    "KeyRequest",
    "License",
    "PasswordResetToken",
    "PortalFormToken",
    "PortalSession",
    "QuotaSlot",
    "SigningKeyRecord",
    "User",
]
