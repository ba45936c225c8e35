"""One vocabulary: every Chinese message renders a glossary term the way the glossary says.

The glossary page (``docs/glossary.rst``) shows ``docs/_data/glossary.csv``: each row gives the
English forms of a term (``batch / batches``) and the Chinese that renders it (``批次``). For every
translated message of every catalog, each term found in the English (outside ``code``, roles and
links; the longest term wins, so ``batch size`` is not also ``batch``) must have its rendering in
the Chinese. A row's ``Avoid`` column lists renderings that were used for the term once and must
not come back (``就地`` for in-place): no Chinese message of any catalog may contain one. The few
messages that rightly depart from a rendering are listed, with the reason, in
``docs/_data/glossary_exceptions.csv``, which the glossary page shows too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

polib = pytest.importorskip(
    "polib", reason="polib is not installed; `nox -s docs` installs it with the docs tools"
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
PO_DIR = DOCS / "locale" / "zh_CN" / "LC_MESSAGES"
GLOSSARY = DOCS / "_data" / "glossary.csv"
EXCEPTIONS = DOCS / "_data" / "glossary_exceptions.csv"
GLOSSARY_PAGE = "glossary"  # its own catalog translates the table itself

# What is not prose: ``literals``, :roles:`...`, `links <...>`_, bare URLs, {roles}`...` (MyST).
_NOT_PROSE = re.compile(
    r"``.*?``|:[\w:+-]+:`[^`]*`|\{[\w:+-]+\}`[^`]*`|`[^`]*`_{1,2}|`[^`]*`|https?://\S+|\[[^\]]*\]\([^)]*\)"
)


@dataclass(frozen=True)
class Term:
    english: str  # the glossary's first column, e.g. "batch / batches"
    chinese: str
    pattern: re.Pattern[str]
    avoid: tuple[str, ...] = ()  # renderings no Chinese message may use, e.g. ("就地",)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def load_terms() -> list[Term]:
    terms = []
    for row in _read(GLOSSARY):
        forms = sorted((f.strip() for f in row["English"].split("/")), key=len, reverse=True)
        alternatives = "|".join(re.escape(f).replace(r"\ ", r"[\s-]+") for f in forms if f)
        pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-])", re.IGNORECASE)
        avoid = tuple(a.strip() for a in (row.get("Avoid") or "").split("/") if a.strip())
        terms.append(Term(row["English"], row["中文"].strip(), pattern, avoid))
    return terms


def prose(msgid: str) -> str:
    """The words of a message that a translator renders: code, roles and links blanked out.

    >>> prose("Call ``loader.batch_size`` on each :class:`DataLoader` batch")
    'Call   on each   batch'
    """
    return _NOT_PROSE.sub(" ", msgid)


def terms_in(text: str, terms: list[Term]) -> list[Term]:
    """The glossary terms in ``text``, longest first; a matched span is not matched again.

    >>> names = [t.english for t in terms_in("the batch size of each batch", load_terms())]
    >>> names
    ['batch size / batch sizes', 'batch / batches']
    """
    found = []
    spans: list[tuple[int, int]] = []
    longest_first = sorted(terms, key=lambda t: -max(map(len, t.english.split("/"))))
    for term in longest_first:
        for match in term.pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in spans):
                continue
            spans.append(match.span())
            if term not in found:
                found.append(term)
    return found


def _catalog_name(po_file: Path) -> str:
    return po_file.relative_to(PO_DIR).with_suffix("").as_posix()


CATALOGS = [p for p in sorted(PO_DIR.rglob("*.po")) if _catalog_name(p) != GLOSSARY_PAGE]


def _exceptions() -> set[tuple[str, str, str]]:
    rows = _read(EXCEPTIONS) if EXCEPTIONS.is_file() else []
    for row in rows:
        assert row["Reason"].strip(), f"glossary exception without a reason: {row}"
    return {(r["Catalog"], r["Term"], r["Message begins"]) for r in rows}


def test_glossary_is_well_formed() -> None:
    terms = load_terms()
    assert terms, f"{GLOSSARY} lists no term"
    forms = [f.strip().lower() for t in terms for f in t.english.split("/")]
    repeated = sorted({f for f in forms if forms.count(f) > 1})
    assert not repeated, f"forms listed under two terms in {GLOSSARY.name}: {repeated}"
    assert all(t.chinese for t in terms), f"a term of {GLOSSARY.name} has no Chinese rendering"
    clashing = [t.english for t in terms for a in t.avoid if a in t.chinese]
    assert not clashing, f"terms whose rendering contains a rendering they avoid: {clashing}"


@pytest.mark.parametrize("po_file", CATALOGS, ids=_catalog_name)
def test_messages_use_the_glossary(po_file: Path) -> None:
    terms = load_terms()
    allowed = _exceptions()
    name = _catalog_name(po_file)
    problems = []
    for entry in polib.pofile(str(po_file)).translated_entries():
        for term in terms_in(prose(entry.msgid), terms):
            if term.chinese.lower() in entry.msgstr.lower():
                continue
            if any(
                (name, term.english, entry.msgid[: len(begins)]) == (c, t, begins)
                for c, t, begins in allowed
            ):
                continue
            problems.append(f"  {term.english!r} -> {term.chinese!r}: {entry.msgid[:90]!r}")
    assert not problems, (
        f"{name}: {len(problems)} messages render a glossary term differently (use the "
        f"glossary's Chinese, or list the message in {EXCEPTIONS.name} with the reason):\n"
        + "\n".join(problems[:40])
    )


@pytest.mark.parametrize("po_file", CATALOGS, ids=_catalog_name)
def test_messages_avoid_the_renderings_the_glossary_rejects(po_file: Path) -> None:
    """Once a term is settled, its old renderings (the ``Avoid`` column) stay out of every
    message, whatever the English says: 就地 never comes back for in-place."""
    allowed = _exceptions()
    name = _catalog_name(po_file)
    problems = [
        f"  {avoided!r} (say {term.chinese!r}, glossary row {term.english!r}): {entry.msgid[:90]!r}"
        for entry in polib.pofile(str(po_file)).translated_entries()
        for term in load_terms()
        for avoided in term.avoid
        if avoided in entry.msgstr
        and not any(
            (name, term.english) == (c, t) and entry.msgid.startswith(begins)
            for c, t, begins in allowed
        )
    ]
    assert not problems, (
        f"{name}: {len(problems)} messages use a rendering that {GLOSSARY.name} rejects (use "
        f"the glossary's Chinese, or list the message in {EXCEPTIONS.name} with the reason):\n"
        + "\n".join(problems[:40])
    )


def _follows(term: Term, msgstr: str) -> bool:
    return term.chinese.lower() in msgstr.lower() and not any(a in msgstr for a in term.avoid)


def test_every_exception_still_applies() -> None:
    """An exception whose message is gone, or that now follows the glossary, is removed."""
    terms = {t.english: t for t in load_terms()}
    messages = {_catalog_name(p): list(polib.pofile(str(p)).translated_entries()) for p in CATALOGS}
    stale = []
    for catalog, term, begins in sorted(_exceptions()):
        assert term in terms, f"exception names {term!r}, which is not a glossary term"
        hits = [e for e in messages.get(catalog, []) if e.msgid.startswith(begins)]
        if not hits or all(_follows(terms[term], e.msgstr) for e in hits):
            stale.append(f"  {catalog}: {term!r} in {begins!r}")
    assert not stale, "exceptions that no longer apply; delete them:\n" + "\n".join(stale)


def test_each_erratum_title_is_one_message_translated_once() -> None:
    """An erratum's heading reads the same on its tutorial and on the errata page, in both
    languages: the tutorial has the heading ``Erratum ENN: <title from errata.toml>``, and the two
    catalogs translate that one message identically."""
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import pttour_errata
    finally:
        sys.path.pop(0)
    on_errata_page = {e.msgid: e.msgstr for e in polib.pofile(str(PO_DIR / "errata.po"))}
    problems = []
    for erratum in pttour_errata.load().entries:
        heading = f"Erratum {erratum.id}: {erratum.title}"
        source = (DOCS / "tutorials" / f"{erratum.tutorial}.py").read_text(encoding="utf-8")
        if f"\n# {heading}\n" not in source:
            problems.append(f"{erratum.tutorial}.py has no heading {heading!r}")
            continue
        catalog = PO_DIR / "auto_tutorials" / f"{erratum.tutorial}.po"
        on_tutorial = {e.msgid: e.msgstr for e in polib.pofile(str(catalog))}
        if on_tutorial.get(heading) != on_errata_page.get(heading):
            problems.append(
                f"{heading!r}: {on_tutorial.get(heading)!r} in {catalog.name}, "
                f"{on_errata_page.get(heading)!r} in errata.po"
            )
    assert not problems, "erratum headings that differ:\n" + "\n".join(problems)
