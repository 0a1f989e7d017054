"""The creator centre's pages and CSV downloads: who may open them, what they show (numbers, matplotlib charts,
traffic sources, the notes list with htmx paging), the CSV's headers and rows, and the link from my profile."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meadow.core.outbox import outbox_drain
from meadow.engagement import services as engagement
from meadow.engagement.services import LIKES_CONSUMER
from meadow.notes.tests.factories import NoteFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(user):
    note = NoteFactory(author=user, title="Nasi lemak 椰浆饭")
    reader = UserFactory()
    engagement.impressions_record(viewer=reader, note_ids=[note.pk], source="discover")
    engagement.impressions_record(viewer=None, note_ids=[note.pk], source="search")
    engagement.note_read(viewer=reader, note=note, source="discover")
    engagement.note_like(user=reader, note=note, source="discover")
    outbox_drain(consumer=LIKES_CONSUMER)  # a like's event follows its commit
    engagement.note_save(user=reader, note=note, source="discover")
    return note


def _client(client, who):
    if who is not None:
        client.force_login(who)
    return client


@pytest.mark.parametrize(
    "path",
    ["/me/creator/", "/me/creator/stats.csv", "/me/creator/notes/{id}/", "/me/creator/notes/{id}/stats.csv"],
)
def test_anonymous_is_sent_to_log_in(client, note, path):
    r = client.get(path.format(id=note.pk))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/me/creator/notes/{id}/", "/me/creator/notes/{id}/stats.csv"])
def test_note_pages_matrix(client, user, other_user, staff_user, note, path):
    url = path.format(id=note.pk)
    assert _client(client, other_user).get(url).status_code == 404
    assert _client(client, user).get(url).status_code == 200
    assert _client(client, staff_user).get(url).status_code == 200


@pytest.mark.parametrize("path", ["/me/creator/", "/me/creator/stats.csv"])
def test_account_pages_matrix(client, user, other_user, staff_user, note, path):
    assert _client(client, other_user).get(f"{path}?account={user.handle}").status_code == 404
    assert _client(client, user).get(path).status_code == 200
    r = _client(client, staff_user).get(f"{path}?account={user.handle}&days=7")
    assert r.status_code == 200


def test_overview_shows_numbers_charts_sources_and_notes(client, user, note):
    r = _client(client, user).get("/me/creator/?days=7")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="total-impressions">2<' in html
    assert 'data-testid="total-likes">1<' in html and 'data-testid="total-saves">1<' in html
    assert html.count('<svg class="chart" role="img"') == 3  # reach, engagement, followers
    assert 'aria-label="Impressions and reads by day"' in html
    assert 'data-source="discover"' in html and 'data-source="search"' in html
    assert 'data-source="profile"' not in html  # sources without traffic are left out
    assert f'data-note-id="{note.pk}"' in html and "Nasi lemak 椰浆饭" in html
    assert 'aria-current="page" href' not in html and 'data-testid="period-7" aria-current="page"' in html


def test_overview_pages_the_notes_with_htmx(client, user):
    notes = [NoteFactory(author=user) for _ in range(23)]
    c = _client(client, user)
    first = c.get("/me/creator/").content.decode()
    assert first.count('data-testid="creator-note-row"') == 20
    assert f'data-note-id="{notes[0].pk}"' not in first
    cursor = re.search(r'hx-get="\?days=30&amp;cursor=([^"]+)"', first).group(1)
    more = c.get(f"/me/creator/?cursor={cursor}", HTTP_HX_REQUEST="true")
    rows = more.content.decode()
    assert "<html" not in rows and rows.count('data-testid="creator-note-row"') == 3
    assert f'data-note-id="{notes[0].pk}"' in rows and "creator-more" not in rows
    # a bad cursor on a page falls back to the first page instead of failing
    assert c.get("/me/creator/?cursor=!!").status_code == 200


def test_note_page_shows_pool_charts_and_all_time(client, user, note):
    html = _client(client, user).get(f"/me/creator/notes/{note.pk}/?days=30").content.decode()
    assert html.count('<svg class="chart" role="img"') == 3  # reach, engagement, score
    assert 'data-testid="total-reads">1<' in html and 'data-testid="alltime-likes">1<' in html
    assert 'data-testid="creator-pool"' in html
    assert 'data-testid="rate-ctr">50.0%<' in html  # 1 read of 2 impressions


def test_note_page_shows_the_pool_climb(client, user, note):
    from meadow.distribution.tests.test_creator_stats import _climb

    _climb(note)
    html = _client(client, user).get(f"/me/creator/notes/{note.pk}/").content.decode()
    assert 'data-status="active"' in html and 'data-testid="pool-level">Pool 2<' in html
    history = html.split('data-testid="pool-history"')[1].split("</table>")[0]
    assert history.index("Promoted") < history.index("Entered")  # newest first
    assert "12.0%" in history


def test_a_bad_period_on_a_page_falls_back_to_30_days(client, user, note):
    html = _client(client, user).get(f"/me/creator/notes/{note.pk}/?days=1000").content.decode()
    assert 'data-testid="period-30" aria-current="page"' in html


def test_note_csv(client, user, note):
    r = _client(client, user).get(f"/me/creator/notes/{note.pk}/stats.csv?days=7")
    assert r.status_code == 200 and r["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.now().date().isoformat()
    assert r["Content-Disposition"].startswith(f'attachment; filename="meadow-note-{note.pk}-')
    assert r["Content-Disposition"].endswith(f'-{today}.csv"')
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert len(rows) == 7 and rows[-1]["date"] == today
    assert (rows[-1]["impressions"], rows[-1]["reads"], rows[-1]["likes"], rows[-1]["saves"]) == (
        "2",
        "1",
        "1",
        "1",
    )
    assert float(rows[-1]["signal_score"]) == 2 and float(rows[-1]["ctr"]) == 0.5
    assert rows[0]["impressions"] == "0" and rows[0]["ctr"] == ""
    assert list(rows[0]) == [
        "date",
        "impressions",
        "reads",
        "likes",
        "saves",
        "comments",
        "shares",
        "completions",
        "follows",
        "not_interested",
        "signal_score",
        "score_per_impression",
        "ctr",
        "interaction_rate",
    ]


def test_account_csv_has_follower_columns(client, user, other_user, note):
    from meadow.accounts.services import follow_create

    follow_create(follower=other_user, followee=user)
    r = _client(client, user).get("/me/creator/stats.csv?days=90")
    assert r["Content-Disposition"].startswith(f'attachment; filename="meadow-{user.handle}-')
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert len(rows) == 90
    assert (rows[-1]["new_followers"], rows[-1]["followers"], rows[-1]["impressions"]) == ("1", "1", "2")


def test_overview_query_count_does_not_grow_with_notes(client, user, other_user):
    def measure(who) -> int:
        c = _client(client, who)
        c.get("/me/creator/")
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/me/creator/").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(15):
        n = NoteFactory(author=user)
        engagement.impressions_record(viewer=None, note_ids=[n.pk], source="discover")
    NoteFactory(author=other_user)
    assert measure(user) == measure(other_user)


def test_my_profile_links_to_the_creator_centre_and_others_do_not(client, user, other_user):
    c = _client(client, user)
    assert 'data-testid="creator-centre-link"' in c.get(f"/@{user.handle}/").content.decode()
    assert 'data-testid="creator-centre-link"' not in c.get(f"/@{other_user.handle}/").content.decode()
