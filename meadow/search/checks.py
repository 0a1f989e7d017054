"""Search's system checks (``meadow check``)."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.compatibility)
def check_rum(app_configs=None, **kwargs) -> list[Warning]:
    """``MEADOW_SEARCH_RUM`` on, but PostgreSQL has no RUM search index: search uses the GIN path
    (``meadow.W002``). One catalogue query, on PostgreSQL with the setting on only (``meadow check``)."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not getattr(settings, "MEADOW_SEARCH_RUM", False):
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
            "MEADOW_SEARCH_RUM is on but PostgreSQL has no RUM search index: note search ranks through GIN.",
            hint=hint,
            id="meadow.W002",
        )
    ]
