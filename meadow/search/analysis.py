"""Text analysis for search, with no Django in it: the same normalisation as the moderation engine, jieba
segmentation, a light English stemmer, and the query language of both full-text backends.

Normalisation is the moderation engine's 1:1 fold (``meadow.moderation.engine.normalize.fold``): case, full
width, look-alike letters, diacritics and traditional → simplified Chinese, so 臺灣/台湾, ＫＬ/kl and Café/cafe
are one word to search exactly as they are one word to moderation.

Indexing segments with jieba's search mode (``cut_for_search``), which emits a long word *and* the dictionary
words inside it (吉隆坡美食 → 吉隆坡, 美食, 吉隆坡美食). A query is segmented in precise mode; each long Chinese
word becomes "the word, or all of its pieces" (``("吉隆坡美食" OR ("吉隆坡" AND "美食"))``), so a note that says
吉隆坡 … 美食 apart is found, and so is one indexed before 吉隆坡美食 became a dictionary word (hashtags and
product names are added to jieba's dictionary as they appear). A compound whose words leave a character out
(咖啡厅 → 咖啡 + 厅) also matches by those words (``_relaxed``): a fallback that ranks below every exact match.
Terms are ANDed.

Tokens are runs of letters and digits only, so the SQLite ``unicode61`` tokenizer and PostgreSQL's ``simple``
parser see the same words we produced.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import regex

from meadow.moderation.engine.normalize import SENTINEL, fold

_TOKEN = regex.compile(r"[\p{L}\p{N}]+")
_CJK = regex.compile(r"\p{Han}")
_LATIN = regex.compile(r"[a-z]+")
_SPACES = regex.compile(r"\s+")
MAX_TERMS = 8
QUERY_MAX = 100  # characters a query keeps

# Function words a query can drop (they would only narrow an AND query); used only when other words remain.
_CJK_STOP = frozenset("的 了 在 是 和 与 及 也 都 就 吗 呢 吧 啊 呀 哦 很 还 个 之".split())


def normalize(text: str) -> str:
    """The moderation engine's fold (case, width, look-alikes, diacritics, traditional → simplified), with
    invisible characters removed and white space collapsed."""
    return _SPACES.sub(" ", fold(text or "").replace(SENTINEL, "")).strip()


def stem(word: str) -> str:
    """A light English suffix stripper (-s, -es, -ies, -ing, -ed, a final -e), applied the same way to the
    index and the query so "cooking", "cooked" and "cooks" all find "cook". Only for ASCII words of four or
    more letters; short words and other scripts are left alone."""
    if len(word) < 4 or not _LATIN.fullmatch(word):
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses") or (w.endswith("es") and w[-3] in "sxz") or w.endswith(("ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    elif w.endswith("ing") and len(w) >= 6:
        w = _undouble(w[:-3])
    elif w.endswith("ed") and len(w) >= 5:
        w = _undouble(w[:-2])
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


def _undouble(w: str) -> str:
    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        return w[:-1]
    return w


# --- jieba ---------------------------------------------------------------------------------------------------------
_words_lock = threading.Lock()
_added: set[str] = set()


_tokenizer_lock = threading.Lock()
_tokenizer = None


def _jieba():
    """Search's own jieba tokenizer (the default dictionary, Malaysia's place names and the taxonomy's words,
    plus the hashtag and product names ``add_words`` teaches it). Separate from the one ``meadow.notes.text``
    uses for keyword extraction, so search's user dictionary never changes the 5-3-2 hashtag help."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import logging

                import jieba

                from meadow.notes.text import _extra_words

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in sorted(_extra_words()):
                    tokenizer.add_word(word, freq=20000)
                _tokenizer = tokenizer
    return _tokenizer


def add_words(words: Iterable[str]) -> int:
    """Teach jieba new words (hashtag and product names) so a query such as 吉隆坡美食 stays one term. Cheap:
    only Chinese words of 2–12 characters not added before. Returns how many were added."""
    fresh = [
        w
        for w in {normalize(w).replace(" ", "") for w in words if w}
        if 2 <= len(w) <= 12 and _CJK.search(w) and w not in _added
    ]
    if not fresh:
        return 0
    jieba = _jieba()
    with _words_lock:
        for word in fresh:
            jieba.add_word(word, freq=20000)
            _added.add(word)
    return len(fresh)


def _tokens(pieces: Iterable[str]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        for token in _TOKEN.findall(piece):
            out.append(stem(token) if token.isascii() else token)
    return out


def index_text(text: str) -> str:
    """The space-joined index tokens of ``text`` (jieba search mode for Chinese)."""
    folded = normalize(text)
    if not folded:
        return ""
    if _CJK.search(folded):
        return " ".join(_tokens(_jieba().cut_for_search(folded)))
    return " ".join(_tokens(_TOKEN.findall(folded)))


# --- queries -------------------------------------------------------------------------------------------------------
Alternative = tuple[str, ...]  # tokens that must all match
Term = tuple[Alternative, ...]  # one of the alternatives must match


@dataclass(frozen=True)
class ParsedQuery:
    """A query as the backends see it: ``terms`` are ANDed; each is a choice of token groups."""

    text: str  # normalised, as typed (for logs, trending and display)
    terms: tuple[Term, ...]
    # The same terms without their relaxed alternatives (``_relaxed``): a note matching these matches the query
    # as typed; one matching only ``terms`` was found by the fallback and ranks below (see the backends).
    exact: tuple[Term, ...] | None = None

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def relaxed(self) -> bool:
        """Whether some term has a relaxed alternative (a compound's words, e.g. 咖啡厅 → 咖啡)."""
        return self.exact is not None and self.exact != self.terms

    def exact_query(self) -> ParsedQuery:
        return ParsedQuery(text=self.text, terms=self.exact if self.exact is not None else self.terms)

    def to_fts5(self) -> str:
        """SQLite FTS5 MATCH syntax: ``"a" AND ("bc" OR ("b" AND "c"))``."""
        return " AND ".join(_render(term, quote='"', op_and=" AND ", op_or=" OR ") for term in self.terms)

    def to_tsquery(self) -> str:
        """PostgreSQL ``to_tsquery('simple', …)`` syntax: ``'a' & ('bc' | ('b' & 'c'))``."""
        return " & ".join(_render(term, quote="'", op_and=" & ", op_or=" | ") for term in self.terms)


def _render(term: Term, *, quote: str, op_and: str, op_or: str) -> str:
    def group(alt: Alternative) -> str:
        inner = op_and.join(f"{quote}{t}{quote}" for t in alt)
        return inner if len(alt) == 1 else f"({inner})"

    if len(term) == 1:
        return group(term[0])
    return "(" + op_or.join(group(alt) for alt in term) + ")"


@cache
def _latin_stopwords() -> frozenset[str]:
    from meadow.notes.text import stopwords

    return stopwords()


def _pieces(word: str) -> tuple[str, ...]:
    """The dictionary words inside a long Chinese word, longest kept (吉隆坡美食 → 吉隆坡, 美食)."""
    found = [p for p in dict.fromkeys(_jieba().cut_for_search(word)) if p != word and len(p) >= 2]
    kept = [p for p in found if not any(p != q and p in q for q in found)]
    return tuple(kept) if len(kept) >= 2 else ()


def _relaxed(word: str) -> Alternative:
    """The fallback of a Chinese compound: its words of two or more characters (from jieba's search-mode
    segmentation, each at least as common as the compound), read left to right, longest first, leaving out the
    characters that are no such word — 咖啡厅 →
    咖啡 (厅 dropped), 吉隆坡美食节 → 吉隆坡, 美食. Empty when those words say all of the compound (吉隆坡美食 →
    吉隆坡 + 美食 is the same query, not a relaxation) or when nothing is left."""
    jieba = _jieba()
    common = jieba.FREQ.get(word) or 0
    # A part must be a broader word than the compound: at least as common in jieba's dictionary (咖啡 20000 ≥
    # 咖啡厅 55, while 吉隆 15 is no fallback for 吉隆坡 20000, nor 啡厅 3 a word of 咖啡厅).
    subwords = {
        p
        for p in jieba.cut_for_search(word)
        if p != word and len(p) >= 2 and (jieba.FREQ.get(p) or 0) >= common
    }
    parts: list[str] = []
    i, dropped = 0, False
    while i < len(word):
        found = max((p for p in subwords if word.startswith(p, i)), key=len, default=None)
        if found is None:
            dropped = True
            i += 1
        else:
            parts.append(found)
            i += len(found)
    return tuple(dict.fromkeys(parts)) if dropped else ()


def parse_query(raw: str) -> ParsedQuery:
    """Segment and normalise a query the way the index was built."""
    text = normalize(raw)[:QUERY_MAX].strip()
    words = list(_jieba().cut(text)) if _CJK.search(text) else _TOKEN.findall(text)
    terms: list[tuple[Term, Term]] = []  # (with the fallback, exact)
    dropped: list[tuple[Term, Term]] = []
    for word in words:
        for token in _TOKEN.findall(word):
            if _CJK.search(token) and len(token) > 2:
                pieces = _pieces(token)
                exact: Term = ((token,), pieces) if pieces else ((token,),)
                relaxed = _relaxed(token)
                term: Term = (*exact, relaxed) if relaxed and relaxed not in exact else exact
            else:
                exact = term = (((stem(token) if token.isascii() else token),),)
            stop = token in _CJK_STOP or token in _latin_stopwords()
            target = dropped if stop else terms
            if (term, exact) not in target:
                target.append((term, exact))
    if not terms:
        terms = dropped
    kept = terms[:MAX_TERMS]
    return ParsedQuery(text=text, terms=tuple(t for t, _ in kept), exact=tuple(e for _, e in kept))
