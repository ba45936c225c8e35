"""The Chinese catalogs: every message translated, and the same messages as the English pages.

Two ways the Chinese site can go wrong without any build warning:

- a message is untranslated, fuzzy (a guess left by ``sphinx-intl`` after the English changed)
  or obsolete: the page silently shows English, or a stale Chinese sentence;
- the catalogs are stale: the English pages changed and nobody ran ``nox -s i18n``, so new
  sentences have no catalog entry at all.

The first is checked on the committed ``.po`` files; the second regenerates the templates with
``sphinx-build -b gettext -D plot_gallery=0`` (no tutorial is run) in a temporary copy of
``docs/`` and compares message sets. Fix either with ``nox -s i18n``, then translate.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

polib = pytest.importorskip(
    "polib", reason="polib is not installed; `nox -s docs` installs it with the docs tools"
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
LANGUAGE = "zh_CN"
PO_DIR = DOCS / "locale" / LANGUAGE / "LC_MESSAGES"
CATALOGS = sorted(PO_DIR.rglob("*.po"))
# Generated or built inside docs/; a fresh copy must not start from them.
NOT_SOURCES = ("_build", "auto_tutorials", "gen_modules", "locale", "errata.rst")
SPHINX_MODULES = ("sphinx", "sphinx_gallery", "myst_parser", "pydata_sphinx_theme")


def _name(po_file: Path) -> str:
    return po_file.relative_to(PO_DIR).with_suffix("").as_posix()


def _messages(catalog: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in catalog if not e.obsolete}


def _preview(messages: list[str], limit: int = 5) -> str:
    shown = "\n".join(f"  - {m[:100]!r}" for m in messages[:limit])
    more = f"\n  ... and {len(messages) - limit} more" if len(messages) > limit else ""
    return shown + more


def test_catalogs_exist() -> None:
    assert CATALOGS, f"no catalogs under {PO_DIR}; create them with `nox -s i18n`"


@pytest.mark.parametrize("po_file", CATALOGS, ids=_name)
def test_catalog_is_fully_translated(po_file: Path) -> None:
    catalog = polib.pofile(str(po_file))
    problems = []
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    if untranslated:
        problems.append(f"{len(untranslated)} untranslated:\n{_preview(untranslated)}")
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy (check, then drop the fuzzy flag):\n{_preview(fuzzy)}")
    obsolete = [e.msgid for e in catalog.obsolete_entries()]
    if obsolete:
        problems.append(f"{len(obsolete)} obsolete (run `nox -s i18n`):\n{_preview(obsolete)}")
    assert not problems, f"{po_file.relative_to(DOCS)}: " + "\n".join(problems)


@pytest.fixture(scope="module")
def fresh_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``.pot`` templates of the current English sources, built in a scratch copy."""
    missing = [m for m in SPHINX_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the docs tools are not installed ({', '.join(missing)}); use `nox -s docs`")
    scratch = tmp_path_factory.mktemp("gettext")
    source = scratch / "docs"
    # A copy, so the check neither reads nor rewrites the generated files of a real build.
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = scratch / "pot"
    command = [sys.executable, "-m", "sphinx", "-b", "gettext", "-D", "plot_gallery=0"]
    command += ["-W", "--keep-going", "-q", str(source), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"the gettext build failed:\n{result.stdout}\n{result.stderr}"
    return out


@pytest.mark.slow
def test_every_page_has_a_catalog_and_every_catalog_a_page(fresh_templates: Path) -> None:
    pages = {
        p.relative_to(fresh_templates).with_suffix("").as_posix()
        for p in fresh_templates.rglob("*.pot")
    }
    catalogs = {_name(p) for p in CATALOGS}
    assert pages == catalogs, (
        f"pages without a catalog: {sorted(pages - catalogs)}; "
        f"catalogs of no page: {sorted(catalogs - pages)}. Run `nox -s i18n`."
    )


@pytest.mark.slow
@pytest.mark.parametrize("po_file", CATALOGS, ids=_name)
def test_catalog_matches_its_page(po_file: Path, fresh_templates: Path) -> None:
    template = fresh_templates / f"{_name(po_file)}.pot"
    if not template.is_file():
        pytest.fail(f"{_name(po_file)} has a catalog but no page any more; run `nox -s i18n`")
    expected = _messages(polib.pofile(str(template)))
    actual = _messages(polib.pofile(str(po_file)))
    new = sorted(m for _, m in expected - actual)
    gone = sorted(m for _, m in actual - expected)
    stale = f"{po_file.relative_to(DOCS)} is stale; run `nox -s i18n`."
    assert not new, f"{stale} New on the page ({len(new)}):\n{_preview(new)}"
    assert not gone, f"{stale} No longer on the page ({len(gone)}):\n{_preview(gone)}"
