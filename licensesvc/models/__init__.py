"""SQLAlchemy models. Import from here: `from licensesvc.models import Customer`."""

from .base import Base
from .entities import (
    ApiToken,
    AuditRecord,
    Contract,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
    QuotaSlot,
    RevocationListCopy,
    SigningKeyRecord,
    User,
)

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Base",
    "Contract",
    "Customer",
    "IssuedKey",
    "KeyRequest",
    "License",
    "QuotaSlot",
    "RevocationListCopy",
    "SigningKeyRecord",
    "User",
]
