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
from .idempotency import IdempotencyKey
from .outbox import OutboxMessage as OutboxMessage
from .portal import PasswordResetToken as PasswordResetToken
from .portal import PortalFormToken as PortalFormToken
from .portal import PortalSession as PortalSession

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Base",
    "Contract",
    "Customer",
    "IdempotencyKey",
    "IssuedKey",
    "KeyRequest",
    "License",
    "PasswordResetToken",
    "PortalFormToken",
    "PortalSession",
    "QuotaSlot",
    "RevocationListCopy",
    "SigningKeyRecord",
    "User",
]
