"""meadow_notes_published_total moves when a note is published (after the commit), not for a draft or a refusal."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from meadow.notes.tests.test_publish_api import publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def published() -> float:
    return REGISTRY.get_sample_value("meadow_notes_published_total") or 0.0


def test_publishing_counts_once_after_commit_drafts_and_refusals_do_not(
    api_for, user, django_capture_on_commit_callbacks
):
    client = api_for(user)
    before = published()
    with django_capture_on_commit_callbacks(execute=True):
        assert publish(client).status_code == 201
    assert published() == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        assert publish(client, draft="true").status_code == 201
        assert publish(client, images=19).status_code == 400
    assert published() == before + 1
