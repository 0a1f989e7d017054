from __future__ import annotations

import pytest

from meadow.moderation.engine import Engine, default_engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()
