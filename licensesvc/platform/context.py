"""What every service call is given: the session, the settings, who acts, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from licensesvc.config import Policy, Settings
from licensesvc.domain.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    """Who is acting. `kind` is "analyst", "customer" or "system"; a customer actor carries its
    customer_id and may touch only that customer's data."""

    kind: str
    name: str
    customer_id: int | None = None

    @classmethod
    def analyst(cls, name: str) -> Actor:
        return cls("analyst", name)

    @classmethod
    def customer(cls, customer_id: int, name: str | None = None) -> Actor:
        return cls("customer", name or f"customer:{customer_id}", customer_id)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "system")

    @property
    def label(self) -> str:
        """How the audit trail names this actor."""
        return f"{self.kind}:{self.name}" if self.kind != "customer" else self.name

    @property
    def is_analyst(self) -> bool:
        return self.kind in ("analyst", "system")

    def require_analyst(self) -> None:
        """Raise Forbidden unless the actor is an analyst (or the system)."""
        if not self.is_analyst:
            raise Forbidden("this action is for support analysts")

    def check_customer(self, customer_id: int, what: str) -> None:
        """Raise NotFound when a customer actor reaches for another customer's resource
        (404, not 403: we do not confirm that it exists)."""
        if self.kind == "customer" and self.customer_id != customer_id:
            raise NotFound(f"{what} not found")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class ServiceContext:
    session: Session
    settings: Settings
    actor: Actor
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)
