"""The Django adapter: the API the composer calls, the CLI, and moderator edits reaching the engine live."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import override_settings

from meadow.moderation.models import LexiconEntry
from meadow.moderation.services import lexicon_entries_delete, lexicon_entry_save, moderation_check

pytestmark = pytest.mark.django_db


def _check(client, **payload):
    return client.post("/api/v1/moderation/check", payload, content_type="application/json")


def test_check_reports_spans_in_the_original_text(api_for, user):
    text = "超好吃！加我 V 信：lily_kl88 拿菜单"
    response = _check(api_for(user), text=text, field="note")
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "block"
    redirect = [h for h in body["hits"] if h["category"] == "redirect"]
    assert redirect, body
    for hit in body["hits"]:
        assert text[hit["start"] : hit["end"]] == hit["match"]


def test_clean_text_passes(api_for, user):
    response = _check(api_for(user), text="最近第一次去吉隆坡这家店，最后点了椰浆饭，真的好吃。")
    assert response.status_code == 200
    assert response.json() == {"verdict": "pass", "hits": []}


def test_check_needs_a_signed_in_caller_and_valid_input(anon, api_for, user):
    assert _check(anon, text="hello").status_code == 401
    bad = _check(api_for(user), text="hello", field="poster")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "field"
    assert _check(api_for(user), text=123).status_code == 400


@override_settings(MEADOW_RATE_LIMITS="on")
def test_check_is_rate_limited(api_for, user, settings):
    from meadow.core import ratelimit

    # A tenth of the real limit, so the burst fits inside the window however slow the machine is.
    settings.MEADOW_RATE_LIMITS = "0.1"
    client = api_for(user)
    limit = max(1, int(ratelimit.RATES["moderation:account"].limit * 0.1))
    statuses = [_check(client, text="ok").status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit and statuses[-1] == 429


def test_a_moderators_new_term_applies_without_restart(django_capture_on_commit_callbacks):
    text = "this cream is miracle-grade stuff"
    assert moderation_check(text=text).verdict == "pass"
    with django_capture_on_commit_callbacks(execute=True):
        entry = lexicon_entry_save(
            entry=LexiconEntry(
                term="miracle-grade", category="absolute", severity="high", suggestion="very good"
            )
        )
    result = moderation_check(text=text)
    assert result.verdict != "pass"
    assert [h.rule for h in result.hits if h.category == "absolute"]
    with django_capture_on_commit_callbacks(execute=True):
        lexicon_entries_delete(entries=LexiconEntry.objects.filter(pk=entry.pk))
    assert moderation_check(text=text).verdict == "pass"


def test_a_moderator_can_disable_a_shipped_term(django_capture_on_commit_callbacks):
    text = "这家店全网都在推"
    assert [h.rule for h in moderation_check(text=text).hits] == ["absolute:全网"]
    with django_capture_on_commit_callbacks(execute=True):
        lexicon_entry_save(
            entry=LexiconEntry(
                term="全网", category="absolute", severity="low", suggestion="平台内", enabled=False
            )
        )
    assert moderation_check(text=text).hits == ()


def test_an_allow_phrase_cancels_a_false_positive(django_capture_on_commit_callbacks):
    text = "全网都在推这家店"
    assert moderation_check(text=text).verdict == "review"
    with django_capture_on_commit_callbacks(execute=True):
        lexicon_entry_save(entry=LexiconEntry(term="全网都在推", category="allow", severity="low"))
    assert moderation_check(text=text).verdict == "pass"
    assert moderation_check(text="这个面霜全网最低价").verdict != "pass"  # the allow-phrase is narrow


def test_a_bad_entry_is_refused_and_nothing_is_saved():
    from meadow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        lexicon_entry_save(entry=LexiconEntry(term="   ", category="absolute"))
    assert LexiconEntry.objects.count() == 0


def test_admin_lexicon_page_edits_terms(client, staff_user, django_capture_on_commit_callbacks):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/moderation/lexiconentry/add/",
            {
                "term": "神仙水",
                "category": "absolute",
                "severity": "medium",
                "suggestion": "",
                "flags": "",
                "enabled": "on",
                "note": "",
                "try_text": "这瓶神仙水太好用",
            },
            follow=True,
        )
    assert response.status_code == 200
    assert LexiconEntry.objects.filter(term="神仙水").exists()
    assert moderation_check(text="这瓶神仙水太好用").verdict != "pass"


def test_cli_jsonl_keeps_order_and_reports_bad_lines(tmp_path):
    lines = [
        json.dumps({"text": "加我微信 lily1998", "field": "comment", "account": "personal"}),
        "not json",
        json.dumps({"text": "今天天气很好", "field": "note", "account": "personal"}),
    ]
    env = {**os.environ, "MEADOW_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "meadow.settings"}
    for name in ("DATABASE_URL", "REDIS_URL", "MEADOW_ENV"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "meadow", "migrate", "-v0"], env=env, check=True, timeout=120)
    proc = subprocess.run(
        [sys.executable, "-m", "meadow", "moderate", "--jsonl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 3
    assert out[0]["verdict"] == "block" and out[0]["hits"][0]["category"] == "redirect"
    assert out[1]["error"]["code"] == "bad_input"
    assert out[2] == {"verdict": "pass", "hits": []}


def test_cli_without_a_migrated_database_says_what_to_do(tmp_path):
    env = {**os.environ, "MEADOW_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "meadow.settings"}
    for name in ("DATABASE_URL", "REDIS_URL", "MEADOW_ENV"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "meadow", "moderate", "--json"],
        input="加我微信 lily1998",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "meadow migrate" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "language, label, suggestion",
    [
        (
            "en",
            "Redirect off the platform",
            "Remove it: contact details and links to other platforms are not allowed",
        ),
        ("zh-hans", "导流到站外", "请删除：不允许留联系方式或其他平台的链接"),
        (
            "ms",
            "Mengalih ke luar platform",
            "Buang: butiran hubungan dan pautan ke platform lain tidak dibenarkan",
        ),
    ],
)
def test_check_names_categories_and_policy_advice_in_the_callers_language(
    api_for, user, language, label, suggestion
):
    text = "最好用的面霜，加我微信 lily1998"
    response = api_for(user).post(
        "/api/v1/moderation/check",
        {"text": text, "field": "note"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    hits = {h["category"]: h for h in response.json()["hits"]}
    # the code stays the stable name; the label and the policy's instruction follow the reader
    assert hits["redirect"]["label"] == label
    assert hits["redirect"]["suggestion"] == suggestion
    # a rewrite from the lexicon is text in the term's own language, whatever the reader's
    assert hits["absolute"]["suggestion"] == "很好用"
    assert text[hits["redirect"]["start"] : hits["redirect"]["end"]] == hits["redirect"]["match"]


def test_every_category_the_engine_reports_has_a_name():
    from meadow.moderation.engine import Lexicon
    from meadow.moderation.engine.policy import REDIRECT_SUGGESTION
    from meadow.moderation.labels import CATEGORY_LABELS, category_label, suggestion_text

    reported = {t.category for t in Lexicon.default().terms} - {"allow", "intent"}
    assert reported <= set(CATEGORY_LABELS), reported - set(CATEGORY_LABELS)
    assert "plagiarism" in CATEGORY_LABELS  # image/copy findings
    assert category_label("sensitive.new_topic") == "sensitive.new_topic"  # a moderator's new category
    assert suggestion_text("很好用的") == "很好用的"
    for advice in REDIRECT_SUGGESTION.values():
        assert suggestion_text(advice) == advice  # English: the source text itself
