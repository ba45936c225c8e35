"""The errata page: ``docs/_data/errata.toml`` rendered into ``docs/errata.rst`` before Sphinx reads.

The article's mistakes are data, in one file that the page and the tests share. :func:`load`
reads and checks it (``tests/test_errata.py`` proves every checkable entry on the installed torch
through the same loader); :func:`render` turns it into reStructuredText, one heading per erratum
with an explicit target, so every entry is in "On this page" and has a stable anchor
(``errata.html#e07``); :func:`generate_errata_page` writes the page at ``builder-inited``, only
when its text changed, so Sphinx re-reads it only when the errata do. ``docs/errata.rst`` is
ignored by git.

No list of tutorials is kept here: an erratum names its gallery script, and the page links to the
script's ``erratum-eNN`` label under the title the script's docstring opens with.

The page says which torch versions the tests ran on (``docs/_ext/pttour_compat.py`` reads them
from the record of ``nox -s compat``). When an erratum behaves differently on some of them, its
``[[erratum.behaviour]]`` sub-tables say how, each for a range of versions (``torch = "<2.9"``,
a PEP 440 specifier); its ``observed`` stays the behaviour of the versions no range names. Every
range must take in at least one tested version, and no tested version two ranges of one erratum,
so that each recorded behaviour is checked: the erratum's test asks
:meth:`Erratum.behaviour_on` which one the installed torch should show.

This module imports only the standard library and ``pttour_compat`` at top level (TOML comes from
``tomllib``, or ``tomli`` on Python 3.10; version ranges from ``packaging``, which Sphinx and
pytest depend on, imported when an erratum has one), so the tests can use it without Sphinx.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pttour_compat

if TYPE_CHECKING:
    from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parents[1]
DATA = DOCS / "_data" / "errata.toml"
TUTORIALS = DOCS / "tutorials"
PAGE = "errata.rst"
_ID = re.compile(r"E\d{2}")


@dataclass(frozen=True)
class Behaviour:
    """How an erratum shows on a range of torch versions, where it differs from ``observed``.

    >>> Behaviour("<2.9", "o").applies_to("2.6.0+cu124"), Behaviour("<2.9", "o").applies_to("2.13.0")
    (True, False)
    """

    torch: str
    observed: str

    def applies_to(self, version: str) -> bool:
        """Whether ``version`` (its local label, ``+cpu``, left out) lies in the range."""
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(self.torch).contains(version.split("+")[0], prereleases=True)


@dataclass(frozen=True)
class Erratum:
    """One mistake of the article: what it says or does, what happens, and the fix.

    >>> e = Erratum("E07", "§4.1", "crash", "T", "plot_03_tensors", "d", "o", "c")
    >>> e.anchor, e.label
    ('e07', 'erratum-e07')
    """

    id: str
    section: str
    kind: str
    title: str
    tutorial: str
    description: str
    observed: str
    correction: str
    untested_reason: str = ""
    behaviour: tuple[Behaviour, ...] = ()

    def behaviour_on(self, version: str) -> Behaviour | None:
        """The behaviour recorded for torch ``version``; ``None``: the one ``observed`` describes.

        >>> e = Erratum("E07", "§4.1", "crash", "T", "p", "d", "o", "c", "", (Behaviour("<2.9", "x"),))
        >>> e.behaviour_on("2.6.0").observed, e.behaviour_on("2.13.0")
        ('x', None)
        """
        return next((b for b in self.behaviour if b.applies_to(version)), None)

    @property
    def anchor(self) -> str:
        """The id of the erratum's heading on the errata page (``errata.html#e07``)."""
        return self.id.lower()

    @property
    def label(self) -> str:
        """The label its tutorial defines at the block that reproduces it."""
        return f"erratum-{self.id.lower()}"


_FIELDS = tuple(f.name for f in fields(Erratum))
_REQUIRED = _FIELDS[:-2]  # all but untested_reason and behaviour
_BEHAVIOUR_FIELDS = tuple(f.name for f in fields(Behaviour))


@dataclass(frozen=True)
class Errata:
    """The whole file: the kinds, the article's sections, the entries, the tutorials' titles."""

    kinds: tuple[str, ...]
    sections: dict[str, str]
    entries: tuple[Erratum, ...]
    tutorials: dict[str, str]
    tested: tuple[str, ...] = ()  # the torch versions the tests ran on

    def for_tutorial(self, tutorial: str) -> tuple[Erratum, ...]:
        """The entries one tutorial reproduces, in article order."""
        if tutorial not in self.tutorials:
            raise ValueError(
                f"unknown tutorial {tutorial!r}; use one of: {', '.join(self.tutorials)}"
            )
        return tuple(e for e in self.entries if e.tutorial == tutorial)


def tutorial_titles(folder: Path = TUTORIALS) -> dict[str, str]:
    """Each gallery script's name and the title its docstring opens with, in file order."""
    titles = {}
    for script in sorted(folder.glob("plot_*.py")):
        docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
        titles[script.stem] = (docstring.strip().splitlines() or [script.stem])[0]
    return titles


def _behaviours(name: str, tables: Any, tested: tuple[str, ...]) -> tuple[Behaviour, ...]:
    """Check an erratum's ``[[erratum.behaviour]]`` tables against the tested versions."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not isinstance(tables, list):
        raise TypeError(f"erratum {name}: write each behaviour as an [[erratum.behaviour]] table")
    behaviours = []
    for table in tables:
        if not isinstance(table, dict) or sorted(table) != sorted(_BEHAVIOUR_FIELDS):
            found = sorted(table) if isinstance(table, dict) else table
            raise ValueError(
                f"erratum {name}: a behaviour has the fields {list(_BEHAVIOUR_FIELDS)}, got {found}"
            )
        for field in _BEHAVIOUR_FIELDS:
            if not isinstance(table[field], str) or not table[field].strip():
                raise ValueError(f"erratum {name} has a behaviour with an empty {field!r}")
        try:
            SpecifierSet(table["torch"])
        except InvalidSpecifier:
            raise ValueError(
                f"erratum {name}: torch = {table['torch']!r} is not a version range; "
                f"write one such as '>=2.6,<2.9'"
            ) from None
        behaviours.append(Behaviour(**table))
    for behaviour in behaviours:
        if not any(behaviour.applies_to(v) for v in tested):
            raise ValueError(
                f"erratum {name}: no tested torch ({', '.join(tested) or 'none recorded'}) lies "
                f"in {behaviour.torch!r}, so no test checks that behaviour; drop it, or run "
                f"`nox -s compat` on a torch in that range"
            )
    for version in tested:
        ranges = [b.torch for b in behaviours if b.applies_to(version)]
        if len(ranges) > 1:
            raise ValueError(f"erratum {name}: torch {version} lies in more than one of {ranges}")
    return tuple(behaviours)


def _erratum(
    entry: dict[str, Any], kinds: tuple[str, ...], sections: dict, tutorials: dict, tested: tuple
):
    name = entry.get("id", f"#{entry}")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ValueError(
            f"erratum {name} has unknown fields {unknown}; use: {', '.join(_FIELDS)} "
            f"(a new field is added to Erratum in docs/_ext/pttour_errata.py first)"
        )
    for field in _REQUIRED:
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"erratum {name} has an empty or missing {field!r}; write one")
    erratum = Erratum(
        **entry | {"behaviour": _behaviours(name, entry.get("behaviour", []), tested)}
    )
    if not _ID.fullmatch(erratum.id):
        raise ValueError(f"erratum id {erratum.id!r} is malformed; use 'E' and two digits, 'E07'")
    for field, allowed in (("section", sections), ("kind", kinds), ("tutorial", tutorials)):
        value = getattr(erratum, field)
        if value not in allowed:
            raise ValueError(
                f"erratum {erratum.id} has unknown {field} {value!r}; "
                f"use one of: {', '.join(allowed)}"
            )
    return erratum


def parse(data: dict[str, Any], tutorials: dict[str, str], tested: tuple[str, ...] = ()) -> Errata:
    """Check the data read from the TOML file and build :class:`Errata` from it.

    Raises ``ValueError`` naming the erratum and the field for an unknown or empty field, a
    malformed id, an unknown section, kind or tutorial, a repeated id, entries out of article
    order, or a behaviour whose range is malformed, takes in none of the ``tested`` torch
    versions, or overlaps another on one of them. Ids are never reused or renumbered, so an
    erratum found later gets the next free id and sits in its section: the entries run section
    by section, by id within a section.
    """
    kinds, sections = tuple(data["kinds"]), dict(data["sections"])
    entries = tuple(_erratum(e, kinds, sections, tutorials, tested) for e in data["erratum"])
    ids = [e.id for e in entries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"errata ids must be unique; {', '.join(repeated)} appear twice")
    order = list(sections)
    keys = [(order.index(e.section), e.id) for e in entries]
    if keys != sorted(keys):
        raise ValueError(
            f"errata must run in article order, section by section and by id within a section; "
            f"got {ids}"
        )
    return Errata(kinds, sections, entries, tutorials, tested)


def load(
    path: Path = DATA, tutorials: Path = TUTORIALS, record: Path = pttour_compat.RECORD
) -> Errata:
    """Read and check the errata file; tutorial titles come from the gallery scripts, the
    tested torch versions from the record of ``nox -s compat``."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the docs and test groups install tomli
        import tomli as tomllib
    tested = pttour_compat.tested_versions(pttour_compat.load(record))
    with path.open("rb") as handle:
        return parse(tomllib.load(handle), tutorial_titles(tutorials), tested)


_PAGE_TITLE = "Errata of the original article"
# The introduction, one paragraph per item (one message each in the Chinese catalog).
_INTRO = (
    (
        "This tour started from a Chinese article on PyTorch's basics. The article names its "
        "author only by a pen name, 禅与计算机程序设计艺术 (Zen and the Art of Computer "
        "Programming), and gives itself no title and no address, so this site can name it but not "
        "link to it."
    ),
    (
        "Its sections cover, in order: §1 an introduction, §2 what PyTorch is, §3 setting up the "
        "environment, and under §4 the basics: §4.1 tensors, §4.2 autograd and one training "
        "step, §4.3 gradient checking, §4.4 the DataLoader and §4.5 saving and loading a model."
    ),
    (
        "Its path is the one a beginner takes, so the tutorials keep it. But several of its code "
        "samples crash or quietly compute the wrong thing, and several of its claims are false or "
        "out of date. Each tutorial reproduces the mistakes of its section on the installed "
        "PyTorch and fixes them, after its lesson. This page lists them all, section by section: "
        "for each one, what the article says or does, what really happens and why, and the fix, "
        "with a link to the tutorial block that reproduces it live."
    ),
)
_INTRO_TESTS = (
    "Every entry is checked by ``tests/test_errata.py``, on torch {tested}: if a PyTorch "
    "release changes one of these behaviours, the failing test names the entry that is out of "
    "date. The few entries that no test can check say why."
)


def _heading(text: str, underline: str) -> list[str]:
    return [text, underline * len(text), ""]  # docutils wants the underline as long as the text


def render(errata: Errata, *, link_to_tutorials: bool = True) -> str:
    """The errata as a complete reStructuredText page, one subsection per article section.

    Each field is its own paragraph, so a gettext catalog gets one short message per field. The
    tested versions are the ``pttour-version`` role, so that no version is part of a message.
    With ``link_to_tutorials=False`` "Reproduced in" and the tested versions are plain text and
    the page is plain docutils reStructuredText (no Sphinx roles).
    """
    tested = (
        ":pttour-version:`torch-tested`"
        if link_to_tutorials
        else pttour_compat.enumerate_versions(errata.tested or ("(none recorded)",))
    )
    lines = [*_heading(_PAGE_TITLE, "="), *(line for p in _INTRO for line in (p, ""))]
    lines += [_INTRO_TESTS.format(tested=tested), ""]
    for section, name in errata.sections.items():
        in_section = [e for e in errata.entries if e.section == section]
        if in_section:
            lines += _heading(f"{section} {name}", "-")
        for e in in_section:
            title = errata.tutorials[e.tutorial]
            where = (
                f":ref:`{title}, erratum {e.id} <{e.label}>`"
                if link_to_tutorials
                else f"{title} (``{e.tutorial}``), erratum {e.id}"
            )
            lines += [f".. _{e.anchor}:", "", *_heading(f"Erratum {e.id}: {e.title}", "~")]
            lines += [f"**Kind:** {e.kind}", ""]
            lines += [f"**What the article says or does:** {e.description}", ""]
            lines += [f"**What happens:** {e.observed}", ""]
            lines += [
                line for b in e.behaviour for line in (f"**On torch {b.torch}:** {b.observed}", "")
            ]
            lines += [f"**Fix:** {e.correction}", ""]
            lines += [f"**Reproduced in:** {where}", ""]
            if e.untested_reason:
                lines += [f"**Not checked by a test:** {e.untested_reason}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless the file already holds exactly that; say if it wrote.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "page.rst"
    >>> write_if_changed(target, "A\\n"), write_if_changed(target, "A\\n")
    (True, False)
    """
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def generate_errata_page(app: Sphinx) -> None:
    """Render the errata page from the data file into the source folder."""
    srcdir = Path(app.srcdir)
    data = srcdir / "_data"
    errata = load(data / "errata.toml", srcdir / "tutorials", data / "compat.json")
    write_if_changed(srcdir / PAGE, render(errata))


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("pttour_compat")  # the role that shows the tested versions
    # before Sphinx-Gallery (priority 500) and before any source file is read
    app.connect("builder-inited", generate_errata_page, priority=100)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
