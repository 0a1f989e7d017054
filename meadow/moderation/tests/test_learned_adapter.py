"""The learned layer through the Django adapter: the composer's check shows its findings like any other, with
the instruction in the reader's language, and the site can switch it off (issue #18)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation

from meadow.moderation import services
from meadow.moderation.engine.learned import SUGGESTIONS, default_model
from meadow.moderation.labels import suggestion_text

pytestmark = pytest.mark.django_db

# an inducement written as conditions: nothing in the shipped lexicon names it, the model holds it
TEXT = "Nak menang? Follow akaun ni dan share post ni, tiga orang bertuah dapat hadiah"


def _check(client, **payload):
    return client.post("/api/v1/moderation/check", payload, content_type="application/json")


@pytest.fixture(autouse=True)
def fresh_engine():
    services._current.update(stamp=None, engine=None)
    yield
    services._current.update(stamp=None, engine=None)


@override_settings(MODERATION_LEARNED=True)
def test_the_composer_shows_a_learned_finding_like_any_other(api_for, user):
    body = _check(api_for(user), text=TEXT, field="note").json()
    learned = [h for h in body["hits"] if h["rule"].startswith("learned:")]
    assert learned, body
    hit = learned[0]
    assert TEXT[hit["start"] : hit["end"]] == hit["match"] and hit["match"].strip()
    assert hit["label"] and hit["suggestion"]
    assert body["verdict"] == "review"  # a model's guess goes to a person


def test_the_learned_instructions_are_translated():
    for lang, expected in (("zh-hans", "删除色情内容"), ("ms", "Buang kandungan seksual")):
        with translation.override(lang):
            assert suggestion_text(SUGGESTIONS["adult"]) == expected
    with translation.override("zh-hans"):
        for text in SUGGESTIONS.values():
            assert suggestion_text(text) != text  # every instruction has a Chinese translation


def test_the_model_is_off_unless_the_site_switches_it_on():
    result = services.moderation_check(text=TEXT, field="note")
    assert not [h for h in result.hits if h.rule.startswith("learned:")]


def test_the_adapter_can_run_without_the_model():
    with override_settings(MODERATION_LEARNED=False):
        result = services.moderation_check(text=TEXT, field="note")
    assert not [h for h in result.hits if h.rule.startswith("learned:")]


def test_a_finding_records_the_model_version(user):
    from meadow.notes.tests.factories import NoteFactory

    model = default_model()
    assert model is not None
    finding, created = services.finding_record(
        note=NoteFactory(author=user),
        image=None,
        category="adult",
        source="ocr",
        score=0.9,
        severity="medium",
        evidence={},
        model_version=model.version,
    )
    assert created and finding.model_version == model.version
