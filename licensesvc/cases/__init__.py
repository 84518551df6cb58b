"""The cases package."""

from .case_updates import (
    MAX_OWNER_CHARS,
    MAX_UPDATE_CHARS,
    add_case_note,
    analyst_case_view,
    assign_case,
    case_notes,
    change_severity,
    list_escalated,
    page_case_updates,
    page_escalated,
    post_case_update,
    queue_lines,
)

__all__ = [
    "MAX_OWNER_CHARS",
    "MAX_UPDATE_CHARS",
    "add_case_note",
    "analyst_case_view",
    "assign_case",
    "case_notes",
    "change_severity",
    "list_escalated",
    "page_case_updates",
    "page_escalated",
    "post_case_update",
    "queue_lines",
]
