"""The one host-name rule: licenses (create and update), key requests (the host and the
failover host), the API schema, the CLI's `HOST` parameter and the portal's form all call it.

A host is 1 to 200 characters: letters, digits, `.`, `-` and `_`, beginning and ending with a
letter or digit. The whole text must match: nothing is stripped or repaired, so a trailing
newline, a space or any other control character makes it not a host (PRODUCT.md: "hosts and
codes allow none"; a control character is named as such). Hosts are compared and stored in
lower case: `normalize_host` is the only place that lowers them."""

from __future__ import annotations

import re

from licensesvc.domain.errors import ValidationFailed
from licensesvc.domain.text import text_problem

HOST_MAX_LENGTH = 200
#: the rule as a regular expression, for OpenAPI's `pattern` (ECMA-262: `$` is the end of input)
HOST_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9.\-_]{0,198}[A-Za-z0-9])?$"
_HOST = re.compile(HOST_PATTERN[1:-1])


def host_problem(host: str, what: str = "host") -> str | None:
    """Why `host` is not a host name (the words of a validation error), or None when it is.
    A control character is named first, in the words of every other one-line text field."""
    control = text_problem(host)
    if control is not None:
        return f"{control}: {host!r} is not a host name ({what})"
    if _HOST.fullmatch(host) is None:
        return (
            f"{host!r} is not a host name ({what}): 1 to {HOST_MAX_LENGTH} letters, digits, "
            "'.', '-' or '_', beginning and ending with a letter or digit"
        )
    return None


def normalize_host(host: str, what: str = "host") -> str:
    """Return the host as stored (lower case). Raises ValidationFailed when it is not a host
    name; nothing is stripped, so `"Sched01\\n"` is refused, not repaired."""
    problem = host_problem(host, what)
    if problem is not None:
        raise ValidationFailed(problem)
    return host.lower()
