"""SQLAlchemy models. Import from here: `from licensesvc.models import Customer`."""

from .base import Base
from .entities import (
    TOKEN_NAME_MAX,
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
    RevocationCascadeCopy,
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
from .transparency import LogCheckpoint as LogCheckpoint
from .transparency import LogKeyRecord as LogKeyRecord
from .transparency import LogLeaf as LogLeaf
from .transparency import LogNode as LogNode
from .transparency import LogState as LogState
from .webhooks import WebhookDelivery as WebhookDelivery
from .webhooks import WebhookEndpoint as WebhookEndpoint

__all__ = [
    "TOKEN_NAME_MAX",
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
    "LogCheckpoint",
    "LogKeyRecord",
    "LogLeaf",
    "LogNode",
    "LogState",
    "LicenseChange",
    "PasswordResetToken",
    "PortalFormToken",
    "PortalSession",
    "QuotaSlot",
    "RevocationCascadeCopy",
    "RevocationListCopy",
    "ServiceRecord",
    "SigningKeyRecord",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
