"""Settings → Your data names each export's date without ambiguity in every language: "03/04/2026" reads as
4 March in Malaysia and as 3 April in the English (US) short format the page used to print."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from meadow.privacy.models import DataExport

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "March 4, 2026"), ("zh-hans", "2026年3月4日"), ("ms", "4 Mar 2026")],
)
def test_an_exports_date_is_unambiguous_in_each_language(user, language, shown):
    DataExport.objects.create(user=user, status="failed", created_at=datetime(2026, 3, 4, 9, 30, tzinfo=UTC))
    client = Client()
    client.force_login(user)
    client.cookies["meadow_language"] = language
    page = client.get("/settings/data/").content.decode()
    assert shown in page, page[page.find('data-testid="exports"') :][:600]
    assert "03/04/2026" not in page and "3/4/2026" not in page
