"""The issuance's own error: a refused key request, with its recorded case."""

from __future__ import annotations

from licensesvc.domain.errors import REFUSAL_STATUS, REFUSAL_TITLES, ServiceError
from licensesvc.readmodels import CaseView


class KeyRequestRefused(ServiceError):
    """Policy refused a key request; the case is recorded and its number travels with this."""

    def __init__(
        self, code: str, message: str, case_number: str | None, *, case: CaseView | None = None
    ) -> None:
        super().__init__(message)
        #: the recorded case, for a caller that shows it
        self.case = case
        self.code = code
        self.status = REFUSAL_STATUS[code]
        self.title = REFUSAL_TITLES[code]
        self.case_number = case_number
        if case_number:
            self.extra["case_number"] = case_number
