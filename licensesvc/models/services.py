"""The Premium services on record: a major upgrade, a health check or a support review, asked
for (with its planned day) or held (with the day), per customer and contract."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from licensesvc.domain import PremiumService, ServiceRecordStatus, values

from .base import Base, intpk

_SERVICES = ", ".join(f"'{v}'" for v in values(PremiumService))
_STATUSES = ", ".join(f"'{v}'" for v in values(ServiceRecordStatus))


class ServiceRecord(Base):
    """One Premium service: `planned_on` when requested, `held_on` once held; counted in the
    contract year that `contract_year_start` names (the year of its day)."""

    __tablename__ = "premium_service_records"
    __table_args__ = (
        CheckConstraint(f"service IN ({_SERVICES})", name="service"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        CheckConstraint(
            "(status = 'held' AND held_on IS NOT NULL) OR "
            "(status = 'requested' AND planned_on IS NOT NULL AND held_on IS NULL)",
            name="dates",
        ),
        Index("ix_premium_service_records_customer_service", "customer_id", "service"),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    service: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    planned_on: Mapped[date | None]
    held_on: Mapped[date | None]
    contract_year_start: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
