"""Keep the Chinese catalogs clean and say how complete they are (run by ``nox -s i18n``).

``python docs/_ext/pttour_catalogs.py POT_DIR PO_DIR`` runs after ``sphinx-intl update``:

1. removes the catalogs of pages that no longer exist (a ``.po`` without a ``.pot``), which
   ``sphinx-intl`` leaves behind;
2. removes obsolete (``#~``) entries, so a catalog holds only what its page says now, and writes
   every catalog unwrapped, one message per line, so that a change shows as a one-line diff;
3. prints, per catalog, how many messages are translated, fuzzy, untranslated and obsolete.

It exits with status 0 even when translations are missing: it reports, and
``tests/test_docs_catalogs.py`` is the check that fails.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CatalogState:
    """Counts of one catalog's entries, by state."""

    path: str
    translated: int
    fuzzy: int
    untranslated: int
    obsolete: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated


def catalog_state(po_file: Path, name: str) -> CatalogState:
    """Count the entries of one ``.po`` file by state (fuzzy ones are not "translated")."""
    import polib

    catalog = polib.pofile(str(po_file))
    return CatalogState(
        path=name,
        translated=len(catalog.translated_entries()),
        fuzzy=len(catalog.fuzzy_entries()),
        untranslated=len(catalog.untranslated_entries()),
        obsolete=len(catalog.obsolete_entries()),
    )


def prune(pot_dir: Path, po_dir: Path) -> list[str]:
    """Delete orphaned catalogs and obsolete entries; return what was removed, for the log."""
    import polib

    removed: list[str] = []
    for po_file in sorted(po_dir.rglob("*.po")):
        name = po_file.relative_to(po_dir).with_suffix("")
        if not (pot_dir / name).with_suffix(".pot").is_file():
            po_file.unlink()
            po_file.with_suffix(".mo").unlink(missing_ok=True)
            removed.append(f"{name}.po (its page is gone)")
            continue
        # One message per line, never wrapped (``wrapwidth=0``): sphinx-intl wraps at 76 columns,
        # which would rewrite every line of a catalog on each change and make merges conflict.
        catalog = polib.pofile(str(po_file), wrapwidth=0)
        obsolete = catalog.obsolete_entries()
        for entry in obsolete:
            catalog.remove(entry)
        if obsolete:
            removed.append(f"{name}.po: {len(obsolete)} obsolete entries")
        if str(catalog) != po_file.read_text(encoding="utf-8"):
            catalog.save()  # only a changed file: its new time stamp makes Sphinx re-read the page
    for folder in sorted(po_dir.rglob("*"), reverse=True):  # empty folders left by pages
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def report(po_dir: Path) -> list[CatalogState]:
    """The state of every catalog under ``po_dir``, sorted by path."""
    return [
        catalog_state(po_file, str(po_file.relative_to(po_dir)))
        for po_file in sorted(po_dir.rglob("*.po"))
    ]


def format_report(states: list[CatalogState]) -> str:
    """A table of the states, with a total line."""
    width = max([len(s.path) for s in states] + [len("catalog")])
    header = f"{'catalog':<{width}}  translated  fuzzy  untranslated  obsolete"
    lines = [header, "-" * len(header)]
    for s in states:
        lines.append(
            f"{s.path:<{width}}  {s.translated:>5}/{s.total:<4}  {s.fuzzy:>5}  "
            f"{s.untranslated:>12}  {s.obsolete:>8}"
        )
    translated = sum(s.translated for s in states)
    total = sum(s.total for s in states)
    lines.append("-" * len(header))
    lines.append(
        f"{'all':<{width}}  {translated:>5}/{total:<4}  {sum(s.fuzzy for s in states):>5}  "
        f"{sum(s.untranslated for s in states):>12}  {sum(s.obsolete for s in states):>8}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pot_dir", type=Path, help="the templates, from sphinx-build -b gettext")
    parser.add_argument("po_dir", type=Path, help="e.g. docs/locale/zh_CN/LC_MESSAGES")
    args = parser.parse_args(argv)
    for line in prune(args.pot_dir, args.po_dir):
        print(f"removed {line}")
    print(format_report(report(args.po_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
