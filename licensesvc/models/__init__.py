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
    SigningKeyRecord,
    User,
)
from .idempotency import IdempotencyKey
from .outbox import OutboxMessage as OutboxMessage

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
    "QuotaSlot",
    "SigningKeyRecord",
    "User",
]
