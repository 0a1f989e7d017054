"""The registries behind "Download my data" and "Delete my account" (PDPA / GDPR-style rights).

Each app that holds personal data contributes two things, so a new app (messages, say) adds its own without
touching the exporter or the eraser:

- an **export section** — ``register_export_section(name, build)``: ``build(user)`` returns an
  :class:`ExportSection` with JSON-ready ``records`` and the stored ``files`` (storage + name) that go into the
  archive beside them;
- an **erasure step** — ``register_erasure_step(name, erase, order=…)``: ``erase(user)`` removes or anonymises
  that app's data of the account and returns how many things it changed. It must be idempotent (running it
  twice changes nothing the second time) and must correct every counter it touches, so it should call the
  app's own services where they exist.

Register both in the app's ``AppConfig.ready``. The ``privacy`` app runs them (``meadow/privacy``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import Storage


@dataclass(frozen=True)
class ExportFile:
    """A stored file to copy into the archive under ``path`` (relative to ``media/``)."""

    path: str
    storage: Storage
    name: str


@dataclass
class ExportSection:
    records: list[dict[str, Any]] | dict[str, Any]
    files: list[ExportFile] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records) if isinstance(self.records, list) else 1


ExportBuilder = Callable[[Any], ExportSection]
Eraser = Callable[[Any], int]

_sections: dict[str, ExportBuilder] = {}
_steps: dict[str, tuple[int, Eraser]] = {}


def register_export_section(name: str, build: ExportBuilder) -> None:
    """Add (or replace, by name) a section of the data export."""
    _sections[name] = build


def register_erasure_step(name: str, erase: Eraser, *, order: int = 100) -> None:
    """Add (or replace, by name) a step of account erasure; steps run by ``order``, then name."""
    _steps[name] = (order, erase)


def export_sections() -> list[tuple[str, ExportBuilder]]:
    return list(_sections.items())


def erasure_steps() -> list[tuple[str, Eraser]]:
    return [
        (name, erase) for name, (_order, erase) in sorted(_steps.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]
