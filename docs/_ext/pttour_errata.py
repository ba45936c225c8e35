"""The errata page: ``docs/_data/errata.toml`` rendered into ``docs/errata.rst`` before Sphinx reads.

:func:`load` checks the data, which the page and ``tests/test_errata.py`` share. Each erratum gets
a stable anchor (``errata.html#e07``), a link to the tutorial block that reproduces it, and, where
it shows differently on some tested torch versions, one paragraph per version range. Only the
standard library and ``pttour_compat`` at top level: the tests use this module without Sphinx.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pttour_compat
from packaging.specifiers import InvalidSpecifier, SpecifierSet

if TYPE_CHECKING:
    from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parents[1]
DATA = DOCS / "_data" / "errata.toml"
TUTORIALS = DOCS / "tutorials"
PAGE = "errata.rst"
_ID = re.compile(r"E\d{2}")


@dataclass(frozen=True)
class Behaviour:
    """How an erratum shows on a range of torch versions, where it differs from ``observed``."""

    torch: str
    observed: str

    def applies_to(self, version: str) -> bool:
        """Whether ``version`` (its local label, ``+cpu``, left out) lies in the range."""
        return SpecifierSet(self.torch).contains(version.split("+")[0], prereleases=True)


@dataclass(frozen=True)
class Erratum:
    """One mistake of the article: what it says or does, what happens, and the fix."""

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
        """The behaviour recorded for torch ``version``; ``None``: the one ``observed`` describes."""
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
    scripts = sorted(folder.glob("plot_*.py"))
    docstrings = {s.stem: ast.get_docstring(ast.parse(s.read_bytes())) or "" for s in scripts}
    return {name: (text.strip().splitlines() or [name])[0] for name, text in docstrings.items()}


def _behaviours(name: str, tables: Any, tested: tuple[str, ...]) -> tuple[Behaviour, ...]:
    """Check an erratum's ``[[erratum.behaviour]]`` tables against the tested versions."""
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
    """Check the data read from the TOML file and build :class:`Errata` from it; a
    ``ValueError`` names the erratum and the field. Ids are never reused or renumbered: the
    entries run section by section, by id within a section."""
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


# The page's introduction: one message per paragraph in the Chinese catalog. {tested}: the
# tested torch versions, the ``pttour-version`` role, so that no version is part of a message.
_INTRO = """\
Errata of the original article

This tour started from a Chinese article on PyTorch's basics. The article names its author only
by a pen name, 禅与计算机程序设计艺术 (Zen and the Art of Computer Programming), and gives itself
no title and no address, so this site can name it but not link to it.

Its sections cover, in order: §1 an introduction, §2 what PyTorch is, §3 setting up the
environment, and under §4 the basics: §4.1 tensors, §4.2 autograd and one training step, §4.3
gradient checking, §4.4 the DataLoader and §4.5 saving and loading a model.

Its path is the one a beginner takes, so the tutorials keep it. But several of its code samples
crash or quietly compute the wrong thing, and several of its claims are false or out of date.
Each tutorial reproduces the mistakes of its section on the installed PyTorch and fixes them,
after its lesson. This page lists them all, section by section: for each one, what the article
says or does, what really happens and why, and the fix, with a link to the tutorial block that
reproduces it live.

Every entry is checked by ``tests/test_errata.py``, on torch {tested}: if a PyTorch release
changes one of these behaviours, the failing test names the entry that is out of date. The few
entries that no test can check say why."""


def _heading(text: str, underline: str) -> str:
    return f"{text}\n{underline * len(text)}"  # docutils wants the underline as long as the text


def render(errata: Errata, *, link_to_tutorials: bool = True) -> str:
    """The errata as a complete reStructuredText page, one subsection per article section and
    one paragraph (one catalog message) per field. With ``link_to_tutorials=False`` it is plain
    docutils reStructuredText: no Sphinx roles, the tutorials and versions as text."""
    tested = (
        ":pttour-version:`torch-tested`"
        if link_to_tutorials
        else pttour_compat.enumerate_versions(errata.tested or ("(none recorded)",))
    )
    page_title, *intro = _INTRO.format(tested=tested).split("\n\n")
    blocks = [_heading(page_title, "="), *(" ".join(paragraph.split()) for paragraph in intro)]
    for section, name in errata.sections.items():
        in_section = [e for e in errata.entries if e.section == section]
        blocks += [_heading(f"{section} {name}", "-")] if in_section else []
        for e in in_section:
            title = errata.tutorials[e.tutorial]
            where = (
                f":ref:`{title}, erratum {e.id} <{e.label}>`"
                if link_to_tutorials
                else f"{title} (``{e.tutorial}``), erratum {e.id}"
            )
            blocks += [
                f".. _{e.anchor}:",
                _heading(f"Erratum {e.id}: {e.title}", "~"),
                f"**Kind:** {e.kind}",
                f"**What the article says or does:** {e.description}",
                f"**What happens:** {e.observed}",
                *(f"**On torch {b.torch}:** {b.observed}" for b in e.behaviour),
                f"**Fix:** {e.correction}",
                f"**Reproduced in:** {where}",
                *([f"**Not checked by a test:** {e.untested_reason}"] if e.untested_reason else []),
            ]
    return "\n\n".join(blocks) + "\n"


def generate_errata_page(app: Sphinx) -> None:
    """Render the errata page into the source folder; only a changed page is written, so Sphinx
    re-reads it only when the errata change."""
    srcdir = Path(app.srcdir)
    data = srcdir / "_data"
    page = render(load(data / "errata.toml", srcdir / "tutorials", data / "compat.json"))
    if not (srcdir / PAGE).is_file() or (srcdir / PAGE).read_text(encoding="utf-8") != page:
        (srcdir / PAGE).write_text(page, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("pttour_compat")  # the role that shows the tested versions
    # before Sphinx-Gallery (priority 500) and before any source file is read
    app.connect("builder-inited", generate_errata_page, priority=100)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
