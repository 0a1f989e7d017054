import pytest


@pytest.mark.django_db
def test_signup_then_me(anon):
    response = anon.post(
        "/api/v1/auth/signup",
        {
            "handle": "Lily_KL",
            "email": "lily@example.com",
            "password": "correct horse 9",
            "agree_terms": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["handle"] == "lily_kl"
