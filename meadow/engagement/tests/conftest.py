from __future__ import annotations

import pytest

from meadow.notes.tests.factories import NoteFactory


@pytest.fixture
def note(db, other_user):
    """A public note by ``other_user``."""
    return NoteFactory(author=other_user)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the callbacks queued on commit (notifications) inside the test's transaction."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
