"""The `--host` parameter type: the services' one host rule (services/hosts.py), so the CLI
refuses exactly what the API and the services refuse, in the same words."""

from __future__ import annotations

from typing import Any

import click


class HostName(click.ParamType):  # type: ignore[type-arg]
    """A host name: letters, digits, '.', '-', '_', beginning and ending with a letter or digit."""

    name = "HOST"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from licensesvc.domain.hosts import host_problem

        text = str(value)
        problem = host_problem(text)
        if problem is not None:
            self.fail(problem, param, ctx)
        return text  # the services store it in lower case (normalize_host)


HOST = HostName()
