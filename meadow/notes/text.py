"""Text helpers for notes, with no Django in them: hashtag normalisation and parsing, @mentions, keyword
extraction for the 5-3-2 hashtag help, and category keyword matching.

jieba loads its dictionary (~1 s) lazily, once per process, on the first call that needs it.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import regex

DATA_DIR = Path(__file__).resolve().parent / "data"

# A hashtag is a run of letters, digits, marks, underscores and joiners; it ends at a space, punctuation or a
# second '#' (the Weibo-style "#话题#" form).
_HASHTAG = regex.compile(r"#([\p{L}\p{N}\p{M}_][\p{L}\p{N}\p{M}_·\-]*)")
_MENTION = regex.compile(r"(?<![\w@])@([a-z0-9](?:[a-z0-9_.]{0,22}[a-z0-9_])?)", regex.IGNORECASE)
_CJK = regex.compile(r"\p{Han}")
_LATIN_WORD = regex.compile(r"[\p{Latin}][\p{Latin}\p{N}'’\-]*[\p{Latin}\p{N}]|[\p{Latin}]")
_SPACES = regex.compile(r"\s+")


# --- OpenCC (traditional → simplified) ---------------------------------------------------------------------------
@cache
def _t2s():
    import opencc

    for config in ("t2s", "t2s.json"):  # OpenCC ≥ 1.1.6 accepts the bare name; older builds need ".json"
        try:
            return opencc.OpenCC(config)
        except Exception:
            continue
    raise RuntimeError("OpenCC has no t2s configuration")  # pragma: no cover


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if _CJK.search(text) else text


def normalize_hashtag(raw: str) -> str:
    """The one spelling of a topic: NFKC (full-width → ASCII), case-folded, traditional → simplified, without
    the leading '#', spaces or trailing punctuation."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = text.lstrip("#").rstrip("#").strip()
    text = _SPACES.sub("", text).casefold()
    text = to_simplified(text)
    return text.strip("-·_")


def display_hashtag(raw: str) -> str:
    """How a topic is shown: NFKC (full-width letters become ASCII), without '#' or spaces; case kept."""
    text = unicodedata.normalize("NFKC", raw or "").strip().strip("#").strip()
    return _SPACES.sub("", text).strip("-·_")


def parse_hashtags(body: str) -> list[str]:
    """``#tags`` written in the body, in order of appearance (raw spellings, not yet normalised)."""
    return [m.group(1) for m in _HASHTAG.finditer(unicodedata.normalize("NFKC", body or ""))]


def parse_mentions(body: str) -> list[str]:
    """Handles ``@mentioned`` in the body, lower-cased, unique, in order."""
    seen: dict[str, None] = {}
    for m in _MENTION.finditer(unicodedata.normalize("NFKC", body or "")):
        seen.setdefault(m.group(1).lower().rstrip("."), None)
    return list(seen)


def is_valid_hashtag(name: str) -> bool:
    return bool(name) and bool(regex.fullmatch(r"[\p{L}\p{N}\p{M}_·\-]+", name))


# --- jieba, lazily -------------------------------------------------------------------------------------------------
_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba():
    """jieba, initialised once (dictionary plus the taxonomy's and Malaysia's words)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in sorted(_extra_words()):
                    jieba.add_word(word, freq=20000)
                _jieba_ready = True
    return jieba


@cache
def _extra_words() -> frozenset[str]:
    import json

    words = {"吉隆坡", "槟城", "马六甲", "新山", "怡保", "沙巴", "砂拉越", "兰卡威", "云顶", "茨厂街", "令吉"}
    data = json.loads((DATA_DIR / "taxonomy.json").read_text(encoding="utf-8"))
    for category in data["categories"]:
        words.update(w for w in category["keywords"].get("zh", []) if _CJK.search(w))
    return frozenset(words)


def segment(text: str) -> list[str]:
    """Words of ``text``: jieba for Chinese, letters-and-digits runs for the rest (lower-cased)."""
    if _CJK.search(text):
        return [w.strip().lower() for w in _jieba().lcut(text) if w.strip()]
    return [w.lower() for w in _LATIN_WORD.findall(text)]


@cache
def stopwords() -> frozenset[str]:
    words: set[str] = set()
    for name in ("stopwords_en.txt", "stopwords_ms.txt"):
        words.update((DATA_DIR / name).read_text(encoding="utf-8").split())
    return frozenset(words)


# Words that are fine in a sentence but say nothing as a topic: the 5·3·2 helper never suggests them (the
# stopword lists already drop "the", "dan"…; these are the time, place and filler words a caption is full of).
SUGGEST_FILLER = frozenset(
    """near nearby around here there today tonight yesterday tomorrow morning mornings evening evenings night
    nights afternoon weekend weekends week weeks day days time times year years month months really very just
    also still even much many more most lot lots thing things stuff something anything everything everyone way
    got get gets getting went go goes going come came make made makes want wanted try tried trying need needs
    good great nice best better love loved like liked first last next new old little big small back ever never
    always sometimes finally actually definitely totally literally pretty quite super place places people
    pagi petang malam hari semalam esok minggu tahun bulan sini sana dekat sangat lagi juga baru lama pergi
    datang buat cuba suka best sedap""".split()
)


def extract_keywords(
    text: str, *, top: int = 5, known: Iterable[str] = (), known_weight: float = 1.5
) -> list[str]:
    """The ``top`` keywords of ``text`` (normalised like hashtags), best first.

    Chinese: jieba's TF-IDF (``extract_tags``), plus the compound of two keywords written side by side
    (吉隆坡 + 美食 → 吉隆坡美食, the shape of a core keyword). English and Malay: words minus stopwords, scored
    by frequency × a length bonus, and boosted when the word is already a hashtag people use (``known``)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _HASHTAG.sub(lambda m: " " + m.group(1) + " ", text)  # "#美食" counts as the word 美食
    text = _MENTION.sub(" ", text)
    known_set = set(known)
    scores: dict[str, float] = {}

    if _CJK.search(text):
        import jieba.analyse

        jieba = _jieba()
        tags = jieba.analyse.extract_tags(text, topK=top * 3, withWeight=True)
        chinese = {
            normalize_hashtag(w): weight
            for w, weight in tags
            if _CJK.search(w) and len(w) >= 2 and not w.isdigit()
        }
        for word, weight in chinese.items():
            scores[word] = max(scores.get(word, 0.0), weight * (known_weight if word in known_set else 1.0))
        words = [normalize_hashtag(w) for w in jieba.lcut(text)]
        for left, right in itertools.pairwise(words):
            if left in chinese and right in chinese and left != right and len(left + right) <= 8:
                compound = left + right
                bonus = known_weight if compound in known_set else 1.05
                scores[compound] = max(
                    scores.get(compound, 0.0), (chinese[left] + chinese[right]) / 2 * bonus
                )

    latin = [w.lower().strip("'’-") for w in _LATIN_WORD.findall(text)]
    latin = [w for w in latin if len(w) >= 3 and w not in stopwords() and not w.isdigit()]
    if latin:
        counts = Counter(latin)
        total = sum(counts.values())
        for word, n in counts.items():
            score = (n / total) * (1 + math.log(len(word))) * (known_weight if word in known_set else 1.0)
            # scaled to sit alongside jieba's TF-IDF weights (≈0.2–1.5)
            scores[normalize_hashtag(word)] = max(scores.get(word, 0.0), score * 2)

    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [word for word, _ in ranked if is_valid_hashtag(word)][:top]


# --- categories ------------------------------------------------------------------------------------------------------
class CategoryMatcher:
    """Matches text against each category's keywords. A keyword with Chinese characters, or a Latin keyword of
    four or more letters, matches as a substring of a hashtag (klfood → food); shorter Latin keywords (car, ai)
    must be a whole word. Keywords are normalised like hashtags."""

    def __init__(self, categories: Iterable[tuple[int, Iterable[str]]]) -> None:
        self.substring: list[tuple[str, int]] = []
        self.whole: dict[str, set[int]] = {}
        for category_id, keywords in categories:
            for keyword in keywords:
                normalised = normalize_hashtag(keyword)
                if not normalised:
                    continue
                if _CJK.search(normalised) or len(normalised) >= 4:
                    self.substring.append((normalised, category_id))
                self.whole.setdefault(normalised, set()).add(category_id)

    def for_hashtag(self, name: str) -> set[int]:
        found = set(self.whole.get(name, ()))
        found.update(cid for keyword, cid in self.substring if keyword in name)
        for word in segment(name) if _CJK.search(name) else ():
            found.update(self.whole.get(word, ()))
        return found

    def for_text(self, text: str) -> Counter[int]:
        """How many keyword hits each category gets in free text (title and body)."""
        hits: Counter[int] = Counter()
        normalised = to_simplified(unicodedata.normalize("NFKC", text or "").casefold())
        words = set(segment(normalised))
        for word in words:
            for cid in self.whole.get(word, ()):
                hits[cid] += 1
        for keyword, cid in self.substring:
            if _CJK.search(keyword) and keyword not in words and keyword in normalised:
                hits[cid] += 1
        return hits
