"""What a running licensesvc holds: settings, engine, session factory and clock. Shared by the
web app and the CLI so both build service contexts the same way."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from licensesvc.platform.context import Actor, ServiceContext, utcnow

from .config import Settings
from .db import DatabaseDeadlines, make_engine, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utcnow)
    #: sessions for requests that only read (GET); defaults to `sessions`
    read_sessions: sessionmaker[Session] | None = None
    #: how long database work may wait (LICENSESVC_DB_* variables)
    deadlines: DatabaseDeadlines = field(default_factory=DatabaseDeadlines)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], datetime] | None = None
    ) -> Runtime:
        deadlines = DatabaseDeadlines.from_env(os.environ)
        engine = make_engine(settings.database_url, deadlines)
        return cls(
            settings,
            engine,
            make_sessionmaker(engine),
            clock or utcnow,
            read_sessions=make_sessionmaker(engine, read_only=True),
            deadlines=deadlines,
        )

    def session_for(self, *, read_only: bool) -> Session:
        factory = self.read_sessions if read_only and self.read_sessions else self.sessions
        return factory()

    def context(self, session: Session, actor: Actor) -> ServiceContext:
        return ServiceContext(session, self.settings, actor, self.clock)

    @contextmanager
    def unit_of_work(self, actor: Actor) -> Iterator[ServiceContext]:
        """A session for one unit of work: committed when the block ends normally, rolled back
        when it raises."""
        with self.sessions() as session:
            try:
                yield self.context(session, actor)
                session.commit()
            except BaseException:
                session.rollback()
                raise
