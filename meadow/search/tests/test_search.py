"""Search behaviour through the selectors and services, on whichever backend the suite runs (SQLite FTS5 by
default, PostgreSQL full text with MEADOW_TEST_POSTGRES=1): the same tests for both."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from meadow.accounts.models import Block, Follow
from meadow.notes.models import Note
from meadow.search.backends import search_backend
from meadow.search.models import NoteSearchDoc
from meadow.search.selectors import search_filters, search_run
from meadow.search.tests.conftest import make_note
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids(q, **kw):
    filters = search_filters(**{k: kw.pop(k) for k in ("sort", "kind", "time_range", "location") if k in kw})
    result = search_run(q=q, filters=filters, **kw)
    return [n.pk for n in result.items]


def test_backend_follows_the_database():
    assert search_backend().vendor == connection.vendor


# --- segmentation and normalisation ---------------------------------------------------------------------------------
def test_segmented_query_finds_words_apart():
    apart = make_note(title="周末", body="在吉隆坡吃到了最好吃的美食")
    together = make_note(title="吉隆坡美食地图", tags=["吉隆坡美食"])
    other = make_note(title="槟城美食", body="炒粿条")
    found = ids("吉隆坡美食")
    assert set(found) == {apart.pk, together.pk}
    assert other.pk not in found


def test_traditional_query_finds_simplified_and_the_reverse():
    simplified = make_note(title="护肤心得", body="敏感肌的保湿步骤")
    traditional = make_note(title="咖啡廳探店", body="安靜的咖啡廳")
    assert ids("護膚") == [simplified.pk]
    assert ids("保濕") == [simplified.pk]
    assert ids("咖啡厅") == [traditional.pk]
    assert ids("安静") == [traditional.pk]


def test_case_width_and_stemming():
    note = make_note(title="Cooking Nasi Lemak", body="Ｃｏｃｏｎｕｔ rice, cooked slowly")
    assert ids("cook") == [note.pk]
    assert ids("COOKED") == [note.pk]
    assert ids("ｎａｓｉ lemak") == [note.pk]
    assert ids("coconuts") == [note.pk]


def test_malay_and_hashtags_and_location():
    note = make_note(
        title="Percutian", body="Pantai cantik", tags=["Langkawi"], location_name="Pulau Langkawi"
    )
    assert ids("pantai cantik") == [note.pk]
    assert ids("langkawi") == [note.pk]


def test_no_match_and_all_terms_required():
    make_note(title="Durian season", body="Musang king")
    assert ids("durian") != []
    assert ids("durian pizza") == []


# --- safe results -----------------------------------------------------------------------------------------------
def test_adult_query_answers_nothing_with_a_gentle_message():
    make_note(title="AV 女优 写真", body="porn 约炮")
    for q in ("AV", "约炮", "約炮", "porn", "ＡＶ", "lucah"):
        result = search_run(q=q)
        assert result.items == []
        assert result.notice is not None and result.notice["code"] == "sensitive_query"
    for kind in ("users", "hashtags", "products"):
        assert search_run(q="AV", type=kind).notice is not None


def test_hidden_notes_are_never_found():
    author_private = UserFactory(is_private=True)
    banned = UserFactory()
    visible = make_note(title="榴莲 season")
    hidden = [
        make_note(title="榴莲 private", visibility=Note.Visibility.PRIVATE),
        make_note(title="榴莲 followers", visibility=Note.Visibility.FOLLOWERS),
        make_note(title="榴莲 draft", status=Note.Status.DRAFT, published_at=None, index=False),
        make_note(title="榴莲 processing", media_state=Note.MediaState.PROCESSING),
        make_note(title="榴莲 private account", author=author_private),
        make_note(title="榴莲 banned", author=banned),
    ]
    removed = make_note(title="榴莲 removed")
    Note.objects.filter(pk=removed.pk).update(status=Note.Status.REMOVED)
    banned.is_active = False
    banned.save()
    # even a stale document (indexed before the change) is filtered at query time
    for note in hidden[2:3]:
        from meadow.search.services import note_doc_build

        search_backend().index(doc=note_doc_build(note=note))
    follower = UserFactory()
    Follow.objects.create(follower=follower, followee=hidden[1].author, status=Follow.Status.ACTIVE)
    assert ids("榴莲") == [visible.pk]
    assert ids("榴莲", viewer=follower) == [visible.pk]  # search shows public notes only
    assert ids("榴莲", viewer=hidden[0].author) == [visible.pk]


def test_blocked_authors_are_not_found():
    note = make_note(title="Rendang ayam")
    viewer = UserFactory()
    Block.objects.create(blocker=note.author, blocked=viewer)
    assert ids("rendang") == [note.pk]
    assert ids("rendang", viewer=viewer) == []


def test_limited_and_held_notes_are_not_found():
    enforcement = pytest.importorskip("meadow.enforcement.models")
    from django.contrib.contenttypes.models import ContentType

    limited = make_note(title="Cendol limited")
    held = make_note(title="Cendol held")
    fine = make_note(title="Cendol fine")
    enforcement.Sanction.objects.create(
        account=limited.author, note=limited, kind=enforcement.Sanction.Kind.VISIBILITY_LIMIT
    )
    enforcement.ReviewItem.objects.create(
        kind=enforcement.ReviewItem.Kind.HELD,
        target_type=ContentType.objects.get_for_model(Note),
        target_id=held.pk,
    )
    assert ids("cendol") == [fine.pk]


def test_adult_image_findings_are_not_found():
    from meadow.search.selectors import _adult_finding_model

    model = _adult_finding_model()
    if model is None:
        pytest.skip("image findings (moderation.ModerationFinding) are not there yet")
    flagged = make_note(title="Laksa flagged")
    other = make_note(title="Laksa other finding")
    fine = make_note(title="Laksa fine")
    model.objects.create(note=flagged, category="adult", source="nsfw", key="0:nsfw:adult")
    model.objects.create(note=other, category="redirect", source="qr", key="0:qr:redirect")
    assert set(ids("laksa")) == {fine.pk, other.pk}


# --- index sync through the service layer -----------------------------------------------------------------------
@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_publish_edit_delete_keep_the_index_in_sync(media_root, django_capture_on_commit_callbacks):
    from meadow.notes import services
    from meadow.notes.tests.factories import jpeg

    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        note = services.note_publish(
            author=author, title="Teh tarik pagi", body="Di kedai mamak #sarapan", images=[jpeg()]
        )
    assert ids("teh tarik") == [note.pk]
    assert ids("sarapan") == [note.pk]

    with django_capture_on_commit_callbacks(execute=True):
        services.note_update(note=note, editor=author, title="Kopi O pagi")
    assert ids("teh tarik") == []
    assert ids("kopi") == [note.pk]

    with django_capture_on_commit_callbacks(execute=True):
        services.note_update(note=note, editor=author, visibility=Note.Visibility.PRIVATE)
    assert ids("kopi") == []
    with django_capture_on_commit_callbacks(execute=True):
        services.note_update(note=note, editor=author, visibility=Note.Visibility.PUBLIC)
    assert ids("kopi") == [note.pk]

    with django_capture_on_commit_callbacks(execute=True):
        services.note_delete(note=note, user=author)
    assert ids("kopi") == []
    assert not NoteSearchDoc.objects.filter(note_id=note.pk).exists()


def test_draft_is_indexed_when_published(media_root, django_capture_on_commit_callbacks):
    from meadow.notes import services
    from meadow.notes.tests.factories import jpeg

    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        draft = services.note_publish(author=author, title="Roti canai", images=[jpeg()], draft=True)
    assert not NoteSearchDoc.objects.filter(note_id=draft.pk).exists()
    assert ids("roti canai") == []
    with django_capture_on_commit_callbacks(execute=True):
        services.note_update(note=draft, editor=author, publish=True)
    assert ids("roti canai") == [draft.pk]


def test_reindex_command_rebuilds_everything():
    notes = [make_note(title=f"Satay kajang {i}", index=False) for i in range(5)]
    draft = make_note(title="Satay draft", status=Note.Status.DRAFT, index=False)
    assert ids("satay") == []
    call_command("reindex", batch_size=2, no_progress=True)
    assert set(ids("satay")) == {n.pk for n in notes}
    assert not NoteSearchDoc.objects.filter(note_id=draft.pk).exists()


# --- filters, sorts, pagination -----------------------------------------------------------------------------------
def test_filters_and_sorts():
    old = make_note(
        title="Char kuey teow", likes=100, saves=1, comments=50, age_days=200, location_name="Penang"
    )
    video = make_note(title="Char kuey teow video", kind=Note.Kind.VIDEO, likes=5, saves=90, age_days=3)
    new = make_note(title="Char kuey teow baru", likes=20, saves=3, comments=1, age_days=0.1)
    assert ids("kuey teow", kind="video") == [video.pk]
    assert set(ids("kuey teow", kind="image")) == {old.pk, new.pk}
    assert set(ids("kuey teow", time_range="week")) == {video.pk, new.pk}
    assert ids("kuey teow", time_range="day") == [new.pk]
    assert ids("kuey teow", location="penang") == [old.pk]
    assert ids("kuey teow", sort="latest") == [new.pk, video.pk, old.pk]
    assert ids("kuey teow", sort="likes") == [old.pk, new.pk, video.pk]
    assert ids("kuey teow", sort="saves") == [video.pk, new.pk, old.pk]
    assert ids("kuey teow", sort="comments") == [old.pk, new.pk, video.pk]


@pytest.mark.parametrize("sort", ["relevance", "latest", "likes"])
def test_cursor_pages_are_stable_and_complete(sort):
    made = {
        make_note(title=f"Mee goreng {i}", body="mamak " * (i % 4), likes=i % 5, age_days=i).pk
        for i in range(23)
    }
    seen: list[int] = []
    cursor = None
    filters = search_filters(sort=sort)
    for _ in range(10):
        result = search_run(q="mee goreng", filters=filters, cursor=cursor, limit=5)
        seen.extend(n.pk for n in result.items)
        cursor = result.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == made
    assert seen == ids("mee goreng", sort=sort, limit=50)[:23]


# --- ranking on a labelled set ---------------------------------------------------------------------------------------
LABELLED = {
    "n1": {
        "title": "吉隆坡美食地图",
        "body": "十家必吃的小店，排队也值得",
        "tags": ["吉隆坡美食"],
        "likes": 50,
        "age_days": 3,
    },
    "n2": {"title": "周末去槟城", "body": "回程在吉隆坡吃了一碗美食街的面", "likes": 5, "age_days": 3},
    "n3": {
        "title": "肉骨茶推荐",
        "body": "巴生肉骨茶，汤头浓郁",
        "tags": ["肉骨茶"],
        "likes": 30,
        "age_days": 10,
    },
    "n4": {
        "title": "Best nasi lemak in KL",
        "body": "Crispy chicken and sambal",
        "tags": ["nasilemak"],
        "likes": 40,
        "age_days": 5,
    },
    "n5": {"title": "Nasi lemak sedap di Kampung Baru", "body": "Sambal pedas", "likes": 10, "age_days": 20},
    "n6": {
        "title": "Homemade nasi lemak recipe",
        "body": "Cooking coconut rice at home",
        "likes": 5,
        "age_days": 60,
    },
    "n7": {"title": "口红试色", "body": "秋冬必备的十支口红", "tags": ["口红"], "likes": 80, "age_days": 2},
    "n8": {"title": "平价口红推荐", "body": "学生党也买得起", "likes": 20, "age_days": 30},
    "n9": {"title": "護膚心得", "body": "敏感肌的保濕步驟", "likes": 15, "age_days": 7},
    "n10": {
        "title": "Skincare routine for oily skin",
        "body": "Cleansing, toner and sunscreen",
        "likes": 25,
        "age_days": 4,
    },
    "n11": {
        "title": "兰卡威三天两夜",
        "body": "海滩、缆车和免税店",
        "tags": ["兰卡威"],
        "likes": 35,
        "age_days": 6,
    },
    "n12": {"title": "Percutian Langkawi", "body": "Pantai cantik, air jernih", "likes": 12, "age_days": 8},
    "n13": {
        "title": "Langkawi travel tips",
        "body": "Rent a car, ride the cable car",
        "likes": 30,
        "age_days": 15,
    },
    "n14": {"title": "槟城街头壁画", "body": "乔治市散步路线", "likes": 18, "age_days": 12},
    "n15": {
        "title": "Kopi terbaik di Ipoh",
        "body": "White coffee Ipoh memang sedap",
        "likes": 22,
        "age_days": 9,
    },
    "n16": {"title": "Ipoh white coffee", "body": "The original old town coffee", "likes": 9, "age_days": 40},
    "n17": {"title": "怡保白咖啡", "body": "老字号咖啡店", "likes": 16, "age_days": 11},
    "n18": {"title": "Running in KLCC park", "body": "Morning runs before work", "likes": 14, "age_days": 3},
    "n19": {"title": "健身房新手指南", "body": "第一次去健身房要注意什么", "likes": 28, "age_days": 5},
    "n20": {"title": "Yoga untuk pemula", "body": "Senaman ringan di rumah", "likes": 11, "age_days": 6},
    "n21": {
        "title": "My week",
        "body": "Had nasi lemak twice and went running once",
        "likes": 2,
        "age_days": 1,
    },
    "n22": {"title": "生活碎片", "body": "路过吉隆坡塔", "likes": 3, "age_days": 2},
    "n23": {
        "title": "Cafe hopping in Bangsar",
        "body": "Flat white and croissants",
        "tags": ["cafe"],
        "likes": 45,
        "age_days": 4,
    },
    "n24": {"title": "Bangsar brunch", "body": "Eggs benedict at a little cafe", "likes": 8, "age_days": 25},
    "n25": {"title": "台北咖啡廳", "body": "安靜的咖啡廳", "likes": 19, "age_days": 13},
    "n26": {"title": "咖啡厅探店", "body": "吉隆坡的咖啡厅", "likes": 21, "age_days": 3},
    "n27": {"title": "Durian season", "body": "Musang king in Raub", "likes": 33, "age_days": 2},
    "n28": {"title": "榴莲季节", "body": "猫山王榴莲", "likes": 27, "age_days": 2},
    "n29": {"title": "Resipi rendang ayam", "body": "Masak rendang untuk raya", "likes": 17, "age_days": 14},
    "n30": {
        "title": "Chicken rendang recipe",
        "body": "Cooked slowly with coconut milk",
        "likes": 6,
        "age_days": 50,
    },
}
# query → the expected head of the ranking (a list: exact order; a set: these, in any order, first)
EXPECTED = {
    "吉隆坡美食": ["n1", "n2"],
    "nasi lemak": ["n4", "n5"],
    "口紅": ["n7", "n8"],
    "护肤": ["n9"],
    "langkawi": {"n12", "n13"},
    "cafe": ["n23", "n24"],
    "咖啡廳": {"n25", "n26"},
    "running": ["n18", "n21"],
    "recipes": {"n6", "n30"},
    "榴蓮": ["n28"],
    "cooking": {"n6", "n30"},
    "rendang": ["n29", "n30"],
}


def test_ranking_on_the_labelled_set():
    made = {key: make_note(**spec).pk for key, spec in LABELLED.items()}
    names = {pk: key for key, pk in made.items()}
    for q, expected in EXPECTED.items():
        got = [names[pk] for pk in ids(q)]
        if isinstance(expected, list):
            assert got[: len(expected)] == expected, (q, got)
        else:
            assert set(got[: len(expected)]) == expected, (q, got)
    # nasi lemak: every note that says it is found, the passing mention last
    assert set(ids("nasi lemak")) == {made[k] for k in ("n4", "n5", "n6", "n21")}
    assert ids("nasi lemak")[-1] == made["n21"]


def test_engagement_and_freshness_break_equal_text():
    quiet = make_note(title="Cendol durian", likes=0, age_days=5)
    loved = make_note(title="Cendol durian", likes=500, saves=100, age_days=5)
    old = make_note(title="Apam balik", likes=10, age_days=90)
    fresh = make_note(title="Apam balik", likes=10, age_days=0.5)
    assert ids("cendol") == [loved.pk, quiet.pk]
    assert ids("apam balik") == [fresh.pk, old.pk]


def test_title_match_beats_a_passing_mention():
    mention = make_note(
        title="Weekend", body="lots of things, and satay too, with friends and family", likes=30
    )
    titled = make_note(title="Satay Kajang", body="the best", likes=3)
    assert ids("satay") == [titled.pk, mention.pk]


# --- the two phases ----------------------------------------------------------------------------------------------------
def test_relevance_reranks_only_the_text_best_candidates(monkeypatch):
    from meadow.search import backends

    titled = [make_note(title=f"Laksa {i}", body="laksa", likes=i) for i in range(4)]
    mention = make_note(title="Weekend", body="ate a laksa", likes=10_000, age_days=0.01)
    assert set(ids("laksa")) == {*(n.pk for n in titled), mention.pk}
    monkeypatch.setattr(backends, "search_candidates", lambda: 4)
    assert ids("laksa") == [n.pk for n in reversed(titled)]  # text-best 4, then engagement among them
    assert ids("laksa", sort="latest")[0] == mention.pk  # other sorts still see every match


def test_relevance_page_is_one_statement_with_the_safety_filters(django_assert_num_queries):
    from meadow.search.analysis import parse_query
    from meadow.search.backends import SearchFilters
    from meadow.search.selectors import searchable_notes

    notes = [make_note(title=f"Satay {i}") for i in range(5)]
    hidden = make_note(title="Satay satay satay private", visibility=Note.Visibility.PRIVATE)
    viewer = UserFactory()
    query = parse_query("satay")
    searchable_notes(viewer=viewer).exists()  # warms the per-process content-type cache
    with django_assert_num_queries(1):
        page = search_backend().search(
            query, SearchFilters(), None, notes=searchable_notes(viewer=viewer), limit=3
        )
    assert len(page.ids) == 3 and page.next_cursor and hidden.pk not in page.ids
    rest = search_backend().search(
        query, SearchFilters(), page.next_cursor, notes=searchable_notes(viewer=viewer), limit=3
    )
    assert set(page.ids + rest.ids) == {n.pk for n in notes} and rest.next_cursor is None


def test_candidates_setting_is_at_least_a_thousand(settings):
    from meadow.search.backends import search_candidates

    settings.MEADOW_SEARCH_CANDIDATES = 5000
    assert search_candidates() == 5000
    settings.MEADOW_SEARCH_CANDIDATES = 10
    assert search_candidates() == 1000
