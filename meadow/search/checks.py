"""Search's system checks (``meadow check``)."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.compatibility)
def check_rum(app_configs=None, **kwargs) -> list[Warning]:
    """PostgreSQL without the RUM search index: search falls back to GIN, which is several times slower at a
    million notes (``meadow.W002``). One catalogue query, on PostgreSQL only (``meadow check``)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    from meadow.search.rum import rum_state

    try:
        state = rum_state()
    except DatabaseError:  # not reachable or not migrated: other checks and commands say so
        return []
    if state in ("", "index"):
        return []
    hint = (
        "The server offers rum: run `meadow search_rum`."
        if state == "available"
        else "Install the extension (Debian: apt-get install postgresql-15-rum; managed PostgreSQL: see "
        'docs/operations.md "Search on PostgreSQL"), then run `meadow search_rum`.'
    )
    return [
        Warning(
            "PostgreSQL has no RUM search index: note search ranks through GIN, which reads every match of a "
            "popular query (p99 several times slower at a million notes).",
            hint=hint,
            id="meadow.W002",
        )
    ]
