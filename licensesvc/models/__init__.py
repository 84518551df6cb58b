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
from .outbox import OutboxMessage as OutboxMessage

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
    "QuotaSlot",
    "SigningKeyRecord",
    "User",
]
