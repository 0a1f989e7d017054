"""One finding of the engine (its own module so that the learned layer and the engine share it without importing
each other)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Hit(NamedTuple):
    """One rule that fired, with its span in the original text (``text[start:end] == match``).

    Immutable; a named tuple because a frozen dataclass costs three times as much to build (hot path)."""

    category: str
    start: int
    end: int
    match: str
    rule: str
    severity: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "match": self.match,
            "rule": self.rule,
            "severity": self.severity,
            "suggestion": self.suggestion,
        }
