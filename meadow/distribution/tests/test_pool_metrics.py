"""meadow_pool_evaluations_total moves by outcome when traffic pools are evaluated."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from meadow.distribution.tests import test_pools
from meadow.distribution.tests.test_pools import _simulate
from meadow.notes.tests.factories import NoteFactory

pytestmark = pytest.mark.django_db
readers = test_pools.readers  # 50 readers


def test_a_stopped_note_counts_one_stop_evaluation(readers, django_capture_on_commit_callbacks):
    before = REGISTRY.get_sample_value("meadow_pool_evaluations_total", {"outcome": "stop"}) or 0.0
    with django_capture_on_commit_callbacks(execute=True):
        assert _simulate(NoteFactory(), readers, read_every=0, like_every=0) == ["stop"]
    assert REGISTRY.get_sample_value("meadow_pool_evaluations_total", {"outcome": "stop"}) == before + 1
