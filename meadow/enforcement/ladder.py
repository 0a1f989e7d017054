"""The penalty ladder (PRODUCT.md §6) as data.

Each violation type has a list of steps; the *n*-th active (not voided) violation of a type gets step *n*, and
the last step repeats. A step is ``{"sanction": kind, "days": n | None}`` — ``None`` is permanent; a warning
has no duration. A ``severe`` content violation skips the ladder and takes ``content_severe``.

Defaults:

==========  =========  ==========================  ==========================  ==================
type        1st        2nd                         3rd                         4th and later
==========  =========  ==========================  ==========================  ==================
behaviour   warning    posting ban, 7 days         permanent posting ban       suspension
content     warning    visibility limit, 14 days   permanent posting ban       (repeats)
channel     warning    visibility limit, 14 days   permanent posting ban       suspension
severe      platform ban (permanent suspension)
==========  =========  ==========================  ==========================  ==================

Operators tune it with the ``MEADOW_PENALTY_LADDER`` environment variable: JSON that replaces the steps of
the types it names, e.g. ``{"behaviour": [{"sanction": "warning"}, {"sanction": "posting_ban", "days": 3}]}``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

Step = dict[str, Any]

DEFAULT_LADDER: dict[str, list[Step]] = {
    "behaviour": [
        {"sanction": "warning"},
        {"sanction": "posting_ban", "days": 7},
        {"sanction": "posting_ban", "days": None},
        {"sanction": "suspension", "days": None},
    ],
    "content": [
        {"sanction": "warning"},
        {"sanction": "visibility_limit", "days": 14},
        {"sanction": "posting_ban", "days": None},
    ],
    "content_severe": [{"sanction": "suspension", "days": None}],
    "channel": [
        {"sanction": "warning"},
        {"sanction": "visibility_limit", "days": 14},
        {"sanction": "posting_ban", "days": None},
        {"sanction": "suspension", "days": None},
    ],
}

KINDS = {"warning", "visibility_limit", "posting_ban", "suspension"}

# Which violation type a finding's category counts as (anything else: content).
CATEGORY_TYPES: dict[str, str] = {
    "fake_account": "behaviour",
    "fake_engagement": "behaviour",
    "fake_traffic": "behaviour",
    "undisclosed_collaboration": "channel",
    "off_platform_collaboration": "channel",
}


def ladder() -> dict[str, list[Step]]:
    """The effective ladder: the defaults with the operator's overrides, each step checked."""
    merged = {k: list(v) for k, v in DEFAULT_LADDER.items()}
    for key, steps in (getattr(settings, "MEADOW_PENALTY_LADDER", None) or {}).items():
        if not steps or any(s.get("sanction") not in KINDS for s in steps):
            raise ValueError(f"MEADOW_PENALTY_LADDER[{key!r}]: each step needs a sanction in {sorted(KINDS)}")
        merged[key] = list(steps)
    return merged


def step_for(*, type: str, position: int, severe: bool = False) -> Step:
    """The step for the ``position``-th (1-based) active violation of ``type``."""
    table = ladder()
    steps = table["content_severe"] if severe and "content_severe" in table else table[type]
    return steps[min(max(position, 1), len(steps)) - 1]


def type_for_category(category: str) -> str:
    return CATEGORY_TYPES.get(category, "content")
