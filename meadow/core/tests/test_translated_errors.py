"""Request-validation errors (django-ninja/pydantic) carry a translated human message with stable machine parts,
and allauth's pages speak Malay (allauth ships no Malay catalog: Meadow's carries the strings its pages show)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LANGS = {"en": "en", "zh-hans": "zh-hans", "ms": "ms"}


def _patch_me(client: Client, body: dict, lang: str):
    return client.patch(
        "/api/v1/me", json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang
    )


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (
            {"is_private": 1},
            "is_private",
            {
                "en": "Enter true or false.",
                "zh-hans": "请输入 true 或 false。",
                "ms": "Masukkan true atau false.",
            },
        ),
        (
            {"birthday": "soon"},
            "birthday",
            {
                "en": "Enter a date as YYYY-MM-DD.",
                "zh-hans": "请按 YYYY-MM-DD 格式输入日期。",
                "ms": "Masukkan tarikh dalam bentuk YYYY-MM-DD.",
            },
        ),
        (
            {"message_policy": "friends"},
            "message_policy",
            {
                "en": "Choose one of: 'everyone', 'following', 'nobody'.",
                "zh-hans": "请从以下选项中选择一个：'everyone', 'following', 'nobody'。",
                "ms": "Pilih salah satu daripada: 'everyone', 'following', 'nobody'.",
            },
        ),
    ],
)
def test_validation_errors_are_translated_and_keep_their_machine_parts(api_for, user, body, field, expected):
    client = api_for(user)
    for lang, sentence in expected.items():
        response = _patch_me(client, body, lang)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid", field)
        assert error["message"].endswith(sentence), (lang, error["message"])
        assert "should" not in error["message"] and "Input" not in error["message"]


def test_length_limits_name_the_limit_in_each_language(anon):
    body = {"login": "someone", "password": "x", "name": "n" * 61}
    messages = {}
    for lang in LANGS:
        response = anon.post(
            "/api/v1/auth/token", json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid", "name")
        messages[lang] = error["message"]
    assert messages == {
        "en": "name: Enter at most 60 characters.",
        "zh-hans": "name：最多输入 60 个字符。",
        "ms": "name: Masukkan paling banyak 60 aksara.",
    }


def test_a_body_that_is_not_json_is_refused_in_the_readers_language(anon):
    response = anon.post(
        "/api/v1/auth/token", "{not json", content_type="application/json", HTTP_ACCEPT_LANGUAGE="ms"
    )
    assert response.status_code == 400
    assert (
        "JSON" in response.json()["error"]["message"]
        and "Badan permintaan" in response.json()["error"]["message"]
    )


def _malay(client: Client) -> Client:
    client.cookies["meadow_language"] = "ms"
    return client


@pytest.mark.parametrize(
    ("url", "malay", "english"),
    [
        (
            "/accounts/login/",
            ["Log Masuk", "Ingat Saya", "Nama pengguna atau e-mel"],
            ["Remember Me", "Sign In"],
        ),
        (
            "/accounts/password/reset/",
            ["Set Semula Kata Laluan", "Terlupa kata laluan?"],
            ["Forgotten your password?", "Reset My Password"],
        ),
        ("/accounts/signup/", ["Daftar", "Sudah mempunyai akaun?"], ["Already have an account?"]),
        ("/accounts/password/reset/key/1-bad/", ["Pautan Tidak Sah"], ["Bad Token", "was invalid"]),
    ],
)
def test_allauth_pages_speak_malay(url, malay, english):
    page = _malay(Client()).get(url).content.decode()
    for text in malay:
        assert text in page, (url, text)
    for text in english:
        assert text not in page, (url, text)


def test_allauth_signed_in_pages_and_form_errors_speak_malay(user):
    client = _malay(Client())
    client.force_login(user)
    page = client.get("/accounts/password/change/").content.decode()
    assert "Tukar Kata Laluan" in page and "Kata Laluan Semasa" in page and "Current Password" not in page
    page = client.get("/accounts/email/").content.decode()
    assert "Alamat E-mel" in page and "Add Email Address" not in page
    wrong = client.post(
        "/accounts/password/change/", {"oldpassword": "wrong", "password1": "x", "password2": "y"}
    ).content.decode()
    assert "Sila taip kata laluan semasa anda." in wrong
    failed = _malay(Client()).post("/accounts/login/", {"login": "nobody", "password": "x"}).content.decode()
    assert "tidak betul" in failed and "are not correct" not in failed
