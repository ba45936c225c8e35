"""Write ``docs/errata.rst`` from ``pttour.errata.render_errata_page()`` before Sphinx reads.

The list of the article's mistakes lives in one place, the library (where tests keep every entry
true); the page is generated from it at ``builder-inited``. The file is rewritten only when its
text changed, so its modification time, which Sphinx compares to decide what to re-read, moves
only when the errata do: a rebuild with nothing changed stays fast. ``docs/errata.rst`` is
ignored by git.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PAGE = "errata.rst"


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
    """Render the errata page from the library into the source folder."""
    from pttour import errata

    render = getattr(errata, "render_errata_page", None)
    if render is None:
        raise ExtensionError(
            "pttour.errata.render_errata_page() is missing; the errata page is generated from it."
        )
    text = render()
    if not text.endswith("\n"):
        text += "\n"
    write_if_changed(Path(app.srcdir) / PAGE, text)


def setup(app: Sphinx) -> dict[str, Any]:
    # before Sphinx-Gallery (priority 500) and before any source file is read
    app.connect("builder-inited", generate_errata_page, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
