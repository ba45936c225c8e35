"""After ``sphinx-intl update``: ``python docs/_ext/pttour_catalogs.py POT_DIR PO_DIR``.

Deletes the catalogs of deleted pages and obsolete entries, writes every catalog unwrapped (a
changed message is a one-line diff), then prints ``sphinx-intl stat``. It reports and never fails:
``tests/test_docs_catalogs.py`` is the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib
from sphinx_intl.basic import stat


def prune(pot_dir: Path, po_dir: Path) -> None:
    for po_file in sorted(po_dir.rglob("*.po")):
        if not (pot_dir / po_file.relative_to(po_dir)).with_suffix(".pot").is_file():
            print(f"removed {po_file} (its page is gone)")
            po_file.unlink()
            po_file.with_suffix(".mo").unlink(missing_ok=True)
            continue
        catalog = polib.pofile(str(po_file), wrapwidth=0)
        for entry in catalog.obsolete_entries():
            catalog.remove(entry)
        if str(catalog) != po_file.read_text(encoding="utf-8"):
            catalog.save()  # only a changed file: its new time stamp makes Sphinx re-read the page
    for folder in sorted(po_dir.rglob("*"), reverse=True):  # the folders of deleted pages
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


if __name__ == "__main__":
    pot_dir, po_dir = map(Path, sys.argv[1:])
    prune(pot_dir, po_dir)
    stat(str(po_dir.parents[1]), [po_dir.parent.name])  # locale dir, language
