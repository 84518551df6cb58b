"""`licensesvc idempotency`: the stored answers of API calls made with an Idempotency-Key."""

from __future__ import annotations

import click

from cli.output import emit, json_option
from cli.state import CliState, pass_state


@click.group()
def idempotency() -> None:
    """Housekeeping of Idempotency-Key answers (kept 24 hours).

    \b
    Example:
      licensesvc idempotency purge
    """


@idempotency.command("purge")
@json_option
@pass_state
def purge(state: CliState) -> None:
    """Delete the stored answers of Idempotency-Key requests older than 24 hours.

    The API also purges them as it stores new ones, so this is only needed for a server
    that takes no such requests any more (e.g. from cron, daily). A purged key is free
    again: a request that reuses it is a new request.

    \b
    Example:
      licensesvc idempotency purge
      licensesvc idempotency purge --json
    """
    from licensesvc.platform import idempotency as idempotency_service

    with state.unit_of_work() as ctx:
        purged = idempotency_service.purge(ctx.session, ctx.now(), batch=None)
    emit(
        state.json,
        {"purged": purged},
        f"purged {purged} idempotency key{'' if purged == 1 else 's'} older than 24 hours",
    )
