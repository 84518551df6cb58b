"""The one host-name rule: licenses, key requests, the API schema and the CLI all call it.

A host is 1 to 200 characters: letters, digits, `.`, `-` and `_`, beginning and ending with a
letter or digit. The whole text must match (`re.fullmatch`): a trailing newline, a space or a
control character is not a host. Hosts are compared and stored in lower case."""

from __future__ import annotations

import re

from licensesvc.domain.errors import ValidationFailed

HOST_MAX_LENGTH = 200
#: the rule as a regular expression, for OpenAPI's `pattern` (ECMA-262: `$` is the end of input)
HOST_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9.\-_]{0,198}[A-Za-z0-9])?$"
_HOST = re.compile(HOST_PATTERN[1:-1])


def host_problem(host: str, what: str = "host") -> str | None:
    """Why `host` is not a host name (the words of a validation error), or None when it is."""
    if _HOST.fullmatch(host) is None:
        return (
            f"{host!r} is not a host name ({what}): 1 to {HOST_MAX_LENGTH} letters, digits, "
            "'.', '-' or '_', beginning and ending with a letter or digit"
        )
    return None


def normalize_host(host: str, what: str = "host") -> str:
    """Return the host as stored (lower case). Raises ValidationFailed when it is not a host
    name; nothing is stripped, so `"sched01\\n"` is refused, not repaired."""
    problem = host_problem(host, what)
    if problem is not None:
        raise ValidationFailed(problem)
    return host.lower()
