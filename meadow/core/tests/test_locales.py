"""The shipped translation catalogs (meadow/locale/<lang>/LC_MESSAGES/django.po) are complete and well-formed.

A string someone marks for translation and extracts with ``make messages`` but does not translate makes this fail:
zh_Hans and ms must have every message translated, nothing fuzzy (fuzzy entries are dropped when compiling), the
right plural forms, and the same placeholders as the English source. Reads files only: no database, no .mo needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
TRANSLATED = ("zh_Hans", "ms")  # must be complete
SOURCE = "en"  # the source language: msgstr may stay empty
PLURAL_FORMS = {
    "zh_Hans": "nplurals=1; plural=0;",
    "ms": "nplurals=1; plural=0;",
    "en": "nplurals=2; plural=(n != 1);",
}

# %(name)s, %(count)d, %(size).1f … and positional %s / %d; "%%" is a literal percent sign, not a placeholder.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]+)\))?[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)


def placeholders(text: str) -> list[str]:
    """The placeholders in ``text``, sorted: ``%(name)x`` by name and type, positional ones by type."""
    found = []
    for match in PLACEHOLDER.finditer(text):
        if match["type"] == "%":
            continue
        found.append(f"%({match['name']}){match['type']}" if match["name"] else f"%{match['type']}")
    return sorted(found)


def load(lang: str) -> Catalog:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "django.po"
    assert path.is_file(), f"{path} is missing: run `make messages` (see docs/operations.md)"
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain="django", abort_invalid=True)


def messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def ident(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def forms(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(message.string)
    return (message.string or "",)


@pytest.mark.parametrize("lang", [*TRANSLATED, SOURCE])
def test_catalog_header(lang):
    catalog = load(lang)
    assert messages(catalog), f"{lang}: the catalog is empty"
    assert not catalog.fuzzy, f"{lang}: the header is marked fuzzy"
    header = dict(catalog.mime_headers)
    assert header.get("Plural-Forms", "").replace(" ", "") == PLURAL_FORMS[lang].replace(" ", "")
    assert header.get("Language") == lang
    assert "charset=utf-8" in header.get("Content-Type", "").lower()


def test_every_locale_has_the_same_messages():
    """All three catalogs were extracted together: none is missing a string another one has."""
    ids = {lang: {ident(m) for m in messages(load(lang))} for lang in (*TRANSLATED, SOURCE)}
    reference = ids[SOURCE]
    for lang, found in ids.items():
        assert found == reference, (
            f"{lang} differs from {SOURCE}: missing {sorted(reference - found)[:10]}, extra {sorted(found - reference)[:10]}"
        )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_untranslated_or_fuzzy_messages(lang):
    catalog = load(lang)
    untranslated = [ident(m) for m in messages(catalog) if not all(s.strip() for s in forms(m))]
    fuzzy = [ident(m) for m in messages(catalog) if m.fuzzy]
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{lang}: {len(fuzzy)} fuzzy (ignored when compiling): {fuzzy[:20]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_plural_forms_count(lang):
    catalog = load(lang)
    wrong = [ident(m) for m in messages(catalog) if m.pluralizable and len(forms(m)) != catalog.num_plurals]
    assert not wrong, f"{lang}: plural messages need exactly {catalog.num_plurals} msgstr[n]: {wrong}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_match(lang):
    problems = []
    for message in messages(load(lang)):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = sorted(set().union(*(placeholders(i) for i in ids)))
        for n, text in enumerate(forms(message)):
            got = sorted(set(placeholders(text)))
            if got != expected:
                problems.append(f"{ident(message)!r} msgstr[{n}]: expected {expected}, got {got}")
    assert not problems, f"{lang}: placeholders differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", [*TRANSLATED, SOURCE])
def test_babel_checkers_pass(lang):
    """Babel's own checks (python-format compatibility, plural count) find nothing."""
    catalog = load(lang)
    problems = [f"{ident(m)!r}: {[str(e) for e in errors]}" for m, errors in catalog.check() if errors]
    assert not problems, f"{lang}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi %(name)s, %(count)d new", ["%(count)d", "%(name)s"]),
        ("100%% sure, %s and %.1f", ["%f", "%s"]),
        ("{{ counter }} is not gettext syntax", []),
    ],
)
def test_placeholder_parser(text, expected):
    assert placeholders(text) == expected
