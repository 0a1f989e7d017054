"""Verdict policy: which hits pass, go to review, or block — per field and account type.

The policy is data. ``Policy.actions`` maps a category (or a category group ending in ``*``) to one action per
severity ``(low, medium, high)``; ``Policy.overrides`` maps ``(account, field)`` (either may be ``"*"``) to more
such entries, applied in order from least to most specific (``("*", "*")`` < ``("*", field)`` <
``(account, "*")`` < ``(account, field)``). The verdict of a text is the worst action over its hits
(``block`` > ``review`` > ``pass``); hits are always reported, even when they pass, so the composer can show
them.

Defaults, in words:

* Personal accounts: a redirect (contact details, other platforms, links) blocks at medium/high severity; adult
  content blocks; absolute terms and sensitive topics go to review; inducement and disparagement go to review.
* Verified enterprise accounts (issue #18's policy decision) are exempt only from the *marketing-intent*
  limits (:data:`MARKETING`: a note is not held or limited for being promotional) and may show contact options
  through the platform's contact component. They are **not** exempt from absolute claims, the regulated claims
  of the sensitive topics, inducement or disparagement — advertising rules bind businesses most of all — so
  those act for them as for anyone. Nor from redirects by raw handles: a text redirect in a note, bio or
  username is held for review (with the suggestion to use the component) rather than blocked, and in comments
  and DMs it blocks like anyone else's.
* DMs are private conversations: absolute terms and sensitive topics pass there; a personal account sharing
  contact details in a DM goes to review.
* Usernames and bios: any redirect blocks for personal accounts.

Tune by passing ``Policy(actions=..., overrides=...)`` to :class:`~.engine.Engine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FIELDS = ("note", "comment", "bio", "username", "dm")
ACCOUNTS = ("personal", "enterprise")
ACTIONS = ("pass", "review", "block")
_RANK = {"pass": 0, "review": 1, "block": 2}
_SEV = {"low": 0, "medium": 1, "high": 2}

Triple = tuple[str, str, str]
PASS: Triple = ("pass", "pass", "pass")
REVIEW: Triple = ("review", "review", "review")
BLOCK: Triple = ("block", "block", "block")

# The marketing-intent limits, the only ones verified enterprises are exempt from: a finding that a text is
# promotional as such (selling intent, reported as ``promotion``), never a claim made in it.
MARKETING = ("promotion",)

DEFAULT_ACTIONS: dict[str, Triple] = {
    "redirect": ("review", "block", "block"),
    "absolute": ("pass", "review", "review"),  # low: a superlative in a memory or a question (see intent.py)
    "sensitive.*": ("pass", "review", "review"),
    "inducement": ("review", "review", "review"),
    "disparage": ("review", "review", "review"),
    "adult": ("review", "block", "block"),
    "promotion": ("pass", "review", "review"),
}

DEFAULT_OVERRIDES: dict[tuple[str, str], dict[str, Triple]] = {
    ("*", "dm"): {"absolute": PASS, "sensitive.*": PASS, "inducement": PASS, "redirect": REVIEW},
    ("*", "username"): {"redirect": BLOCK},
    ("*", "bio"): {"redirect": ("block", "block", "block")},
    ("enterprise", "*"): dict.fromkeys(MARKETING, PASS),
    ("enterprise", "note"): {"redirect": REVIEW},
    ("enterprise", "bio"): {"redirect": REVIEW},
    ("enterprise", "username"): {"redirect": REVIEW},
    ("enterprise", "comment"): {"redirect": BLOCK},
    ("enterprise", "dm"): {"redirect": BLOCK},
}

REDIRECT_SUGGESTION = {
    "personal": "Remove it: contact details and links to other platforms are not allowed",
    "enterprise": "Remove it, or use the contact component",
}


@dataclass(frozen=True)
class Policy:
    """Operator-tunable verdict table (see module docstring)."""

    actions: Mapping[str, Triple] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    overrides: Mapping[tuple[str, str], Mapping[str, Triple]] = field(
        default_factory=lambda: dict(DEFAULT_OVERRIDES)
    )
    redirect_suggestion: Mapping[str, str] = field(default_factory=lambda: dict(REDIRECT_SUGGESTION))
    # The most a hit of the learned layer (rule ``learned:<category>``) can do: a model's guess goes to a
    # person (review), it does not refuse a text by itself. Set "block" to let the table decide alone.
    learned_max_action: str = "review"

    def table(self, field_name: str, account: str) -> dict[str, Triple]:
        t = dict(self.actions)
        for key in (("*", "*"), ("*", field_name), (account, "*"), (account, field_name)):
            t.update(self.overrides.get(key, {}))
        return t

    def action(self, table: Mapping[str, Triple], category: str, severity: str) -> str:
        triple = table.get(category)
        if triple is None:
            group = category.split(".", 1)[0] + ".*"
            triple = table.get(group, REVIEW)
        return triple[_SEV.get(severity, 1)]

    @staticmethod
    def rank(action: str) -> int:
        """Order of severity: pass < review < block."""
        return _RANK[action]

    @staticmethod
    def worst(actions: list[str]) -> str:
        return max(actions, key=_RANK.__getitem__, default="pass")


DEFAULT_POLICY = Policy()
