"""Meadow's text-moderation engine (pure Python, no Django).

>>> from meadow.moderation.engine import check
>>> check("加我薇信 abc123").to_dict()["verdict"]
'block'

Public API: :func:`check`, :class:`Engine`, :class:`Lexicon`, :class:`Policy`, :class:`Result`, :class:`Hit`.
See :mod:`.engine` for the pipeline, :mod:`.normalize` for the fold, :mod:`.lexicon` for the data format and
:mod:`.policy` for the verdict table.
"""

from .engine import ACCOUNTS, FIELDS, MAX_TEXT_LENGTH, Engine, Hit, Result, check, default_engine
from .lexicon import REPORTED_CATEGORIES, Lexicon, Term
from .policy import DEFAULT_POLICY, Policy

__all__ = [
    "ACCOUNTS",
    "DEFAULT_POLICY",
    "FIELDS",
    "MAX_TEXT_LENGTH",
    "REPORTED_CATEGORIES",
    "Engine",
    "Hit",
    "Lexicon",
    "Policy",
    "Result",
    "Term",
    "check",
    "default_engine",
]
