"""``meadow moderation_export_decisions``: the moderators' decisions become training rows (issue #18)."""

from __future__ import annotations

import json

from django.core.management import call_command

from meadow.enforcement import services
from meadow.enforcement.models import Appeal, ReviewItem
from meadow.notes.tests.factories import NoteFactory

HELD_TEXT = "限时抽奖：关注我并转发这条笔记，抽三位送正装精华"
CLEAN_TEXT = "这家店的拿铁是我喝过最顺口的，纯个人回忆"


def _held(note, account, text: str, category: str) -> ReviewItem:
    from django.contrib.contenttypes.models import ContentType

    return ReviewItem.objects.create(
        kind=ReviewItem.Kind.HELD,
        target_type=ContentType.objects.get_for_model(note),
        target_id=note.pk,
        account=account,
        findings={
            "text": text,
            "field": "note",
            "hits": [{"category": category, "start": 0, "end": 2, "rule": f"learned:{category}"}],
        },
    )


def test_export_after_an_upheld_and_an_overturned_decision(user, other_user, moderator, tmp_path):
    upheld = _held(NoteFactory(author=user), user, HELD_TEXT, "inducement")
    overturned = _held(NoteFactory(author=other_user), other_user, CLEAN_TEXT, "absolute")
    pending = _held(NoteFactory(author=other_user), other_user, "still waiting", "absolute")
    services.review_decide(item=upheld, moderator=moderator, decision="remove")
    services.review_decide(item=overturned, moderator=moderator, decision="approve")

    out = tmp_path / "rows.jsonl"
    call_command("moderation_export_decisions", "--out", str(out))
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == {HELD_TEXT, CLEAN_TEXT}  # the pending item is no decision yet
    assert by_text[HELD_TEXT]["labels"] == ["inducement"]
    assert by_text[HELD_TEXT]["decision"] == "upheld"
    assert by_text[CLEAN_TEXT]["labels"] == []
    assert by_text[CLEAN_TEXT]["decision"] == "overturned"
    for r in rows:
        assert r["family"] == "moderator_decision"
        assert r["field"] == "note" and r["account"] == "personal"
    assert pending.state == ReviewItem.State.PENDING


def test_appeals_export_upheld_as_clean_and_rejected_as_labelled(user, other_user, moderator, tmp_path):
    def violation(account, text):
        return services.violation_record(
            account=account,
            type="content",
            category="absolute",
            rule="learned:absolute",
            severity="medium",
            evidence={"text": text, "field": "comment", "hits": [{"category": "absolute"}]},
        )

    a1 = services.appeal_create(
        user=user, violation_id=violation(user, "best laksa of my life").pk, text="memory"
    )
    a2 = services.appeal_create(
        user=other_user, violation_id=violation(other_user, "No.1 serum, guaranteed").pk, text="no"
    )
    services.appeal_decide(appeal=a1, moderator=moderator, decision="uphold")
    services.appeal_decide(appeal=a2, moderator=moderator, decision="reject")
    assert Appeal.objects.filter(state="pending").count() == 0

    out = tmp_path / "rows.jsonl"
    call_command("moderation_export_decisions", "--out", str(out))
    by_text = {r["text"]: r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    assert by_text["best laksa of my life"]["labels"] == []
    assert by_text["No.1 serum, guaranteed"]["labels"] == ["absolute"]
    assert by_text["No.1 serum, guaranteed"]["field"] == "comment"
