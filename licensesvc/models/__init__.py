"""SQLAlchemy models. Import from here: `from licensesvc.models import Customer`."""

from .base import Base
from .entities import (
    ApiToken,
    AuditRecord,
    CaseUpdate,
    Contract,
    ContractPayment,
    ContractPlanChange,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
    LicenseChange,
    QuotaSlot,
    SigningKeyRecord,
    User,
)
from .outbox import OutboxMessage as OutboxMessage

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Base",
    "CaseUpdate",
    "Contract",
    "ContractPayment",
    "ContractPlanChange",
    "Customer",
    "IssuedKey",
    "KeyRequest",
    "License",
    "LicenseChange",
    "QuotaSlot",
    "SigningKeyRecord",
    "User",
]
