"""SQLAlchemy models. Import from here: `from licensesvc.models import Customer`."""

from .base import Base
from .entities import (
    ApiToken,
    AuditRecord,
    CaseNote,
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
    RevocationListCopy,
    SigningKeyRecord,
    User,
)
from .idempotency import IdempotencyKey
from .outbox import OutboxMessage as OutboxMessage
from .portal import PasswordResetToken as PasswordResetToken
from .portal import PortalFormToken as PortalFormToken
from .portal import PortalSession as PortalSession
from .services import ServiceRecord as ServiceRecord
from .webhooks import WebhookDelivery as WebhookDelivery
from .webhooks import WebhookEndpoint as WebhookEndpoint

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Base",
    "CaseNote",
    "CaseUpdate",
    "Contract",
    "ContractPayment",
    "ContractPlanChange",
    "Customer",
    "IdempotencyKey",
    "IssuedKey",
    "KeyRequest",
    "License",
    "LicenseChange",
    "PasswordResetToken",
    "PortalFormToken",
    "PortalSession",
    "QuotaSlot",
    "RevocationListCopy",
    "ServiceRecord",
    "SigningKeyRecord",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
