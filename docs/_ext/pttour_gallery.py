"""The tutorial gallery as readers meet it: a picture on every card, and each page's run time.

- thumbnails: a tutorial that draws no figure gets a card of its own, its first lines of code,
  instead of Sphinx-Gallery's generic logo (after Sphinx-Gallery wrote its thumbnails, at
  ``builder-inited``). Nothing to mark in the tutorial: a figure, when there is one, wins.
- run time: Sphinx-Gallery keeps each tutorial's measured run time next to its generated page
  (``<name>.cost.json``); ``html-page-context`` hands it to the ``pttour-run-time`` template.
  It never enters a page's source, so it is not a message to translate, and the Chinese build,
  which runs no code, shows the figure the English run measured.
- the "last updated" date of a generated page: the page is untracked, so
  sphinx-last-updated-by-git reads the dates of what it was generated from (the tutorial
  script; for a page ``NAME`` written by ``docs/_ext/pttour_NAME.py``, that extension and its
  data in ``docs/_data/``), recorded here as dependencies of the page. Only HTML builds ask git.

Everything is derived from the tutorial sources: a new ``plot_*.py`` needs no step here.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

THUMBNAIL_MARK = "pttour code thumbnail"  # in the PNG's metadata: a thumbnail made here
THUMBNAIL_LINES = 7
THUMBNAIL_COLUMNS = 27


def _gallery_dirs(app: Sphinx) -> list[tuple[Path, Path]]:
    """(source folder, generated folder) of each gallery."""
    conf = app.config.sphinx_gallery_conf
    sources, targets = conf["examples_dirs"], conf["gallery_dirs"]
    sources = [sources] if isinstance(sources, str) else list(sources)
    targets = [targets] if isinstance(targets, str) else list(targets)
    srcdir = Path(app.srcdir)
    return [(srcdir / s, srcdir / t) for s, t in zip(sources, targets, strict=True)]


# -- thumbnails ------------------------------------------------------------------------------------


def code_excerpt(source: str) -> list[str]:
    """The first lines of code a tutorial runs, without imports, comments and blank lines.

    >>> code_excerpt("'Doc.'\\n# Text\\nimport torch\\n\\nx = torch.ones(2)  # one\\nprint(x)\\n")
    ['x = torch.ones(2)', 'print(x)']
    """
    module = ast.parse(source)
    lines = source.splitlines()
    picked: list[str] = []
    for statement in module.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        end = statement.end_lineno or statement.lineno
        for line in lines[statement.lineno - 1 : end]:
            code = line.split("  #", 1)[0].rstrip()
            if code.strip() and not code.lstrip().startswith("#"):
                picked.append(code)
        if len(picked) >= THUMBNAIL_LINES:
            break
    return picked[:THUMBNAIL_LINES]


def render_code_thumbnail(lines: list[str], size: tuple[int, int]) -> bytes:
    """A PNG of ``size`` pixels showing ``lines`` as code on a light editor background."""
    import matplotlib

    matplotlib.use("agg")
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor="#f6f8fa")
    shown = [
        line if len(line) <= THUMBNAIL_COLUMNS else line[: THUMBNAIL_COLUMNS - 1] + "…"
        for line in lines
    ]
    figure.text(
        0.05,
        0.93,
        "\n".join(shown),
        family="DejaVu Sans Mono",
        fontsize=11,
        color="#1f2328",
        va="top",
        ha="left",
        linespacing=1.4,
    )
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", dpi=dpi, metadata={"Software": None, "Title": THUMBNAIL_MARK}
    )
    return buffer.getvalue()


def make_code_thumbnails(app: Sphinx) -> None:
    """Give every tutorial that drew no figure a thumbnail of its own code."""
    size = tuple(app.config.sphinx_gallery_conf.get("thumbnail_size", (320, 224)))
    for source_dir, gallery_dir in _gallery_dirs(app):
        for script in sorted(source_dir.glob("plot_*.py")):
            images = gallery_dir / "images"
            if (images / f"sphx_glr_{script.stem}_001.png").is_file():
                continue  # Sphinx-Gallery made the thumbnail from the tutorial's figure
            thumb = images / "thumb" / f"sphx_glr_{script.stem}_thumb.png"
            if not thumb.is_file():
                continue  # not generated (yet): nothing to replace
            current = thumb.read_bytes()
            if (
                THUMBNAIL_MARK.encode() in current
                and thumb.stat().st_mtime >= script.stat().st_mtime
            ):
                continue  # ours, and the script has not changed since
            png = render_code_thumbnail(code_excerpt(script.read_text(encoding="utf-8")), size)
            if png != current:
                thumb.write_bytes(png)
                logger.info("pttour: code thumbnail for %s", script.name)


# -- run times ----------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """Seconds as a reader wants them: 0.4, 2.7, 13, 95; never "0.0", which reads as "did
    not run".

    >>> format_seconds(0.02), format_seconds(0.43), format_seconds(2.71), format_seconds(13.2)
    ('< 0.1', '0.4', '2.7', '13')
    """
    if seconds < 0.05:
        return "< 0.1"
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def run_time(gallery_dir: Path, name: str) -> float | None:
    """The run time Sphinx-Gallery recorded for tutorial ``name``, or None when it has none."""
    cost = gallery_dir / f"{name}.cost.json"
    try:
        seconds = float(json.loads(cost.read_text(encoding="utf-8"))["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seconds if seconds > 0 else None


def add_run_time(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Hand a tutorial page's run time, as a sentence in its language, to the template."""
    from pttour_site import SITE_TEXT, site_language

    context["pttour_run_time"] = None
    folder, _, name = pagename.rpartition("/")
    if not name.startswith("plot_"):
        return
    for _, gallery_dir in _gallery_dirs(app):
        if gallery_dir.name == folder:
            seconds = run_time(gallery_dir, name)
            if seconds is not None:
                sentence = SITE_TEXT[site_language(app.config.language)]["run_time"]
                context["pttour_run_time"] = sentence.format(seconds=format_seconds(seconds))


# -- generated pages depend on their sources -------------------------------------------------------


def note_generated_sources(app: Sphinx, docname: str, source: list[str]) -> None:
    """Record what a generated page is made from as its dependencies (and so its date).

    A tutorial page comes from its script (the gallery index from the gallery's header); a page
    ``NAME`` that a local extension ``docs/_ext/pttour_NAME.py`` writes comes from that extension
    and its data, ``docs/_data/NAME.*``.
    """
    if not isinstance(docname, str):
        return  # an included file, not a page
    folder, _, name = docname.rpartition("/")
    srcdir = Path(app.srcdir)
    for source_dir, gallery_dir in _gallery_dirs(app):
        if gallery_dir.name != folder:
            continue
        candidates = [source_dir / f"{name}.py"] if name != "index" else []
        candidates += [source_dir / "GALLERY_HEADER.rst", source_dir / "README.rst"]
        for candidate in candidates:
            if candidate.is_file():
                app.env.note_dependency(candidate, docname=docname)
                return
    generator = srcdir / "_ext" / f"pttour_{docname}.py"
    if not folder and generator.is_file():
        for dependency in [generator, *sorted((srcdir / "_data").glob(f"{name}.*"))]:
            app.env.note_dependency(dependency, docname=docname)


def dates_for_html_only(app: Sphinx) -> None:
    """Ask git for "last updated" dates only in HTML builds: a gettext build shows no date and
    may run on a copy of ``docs/`` outside the repository (``tests/test_docs_catalogs.py``)."""
    if app.builder.format != "html":
        app.config.git_exclude_patterns = ["**"]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", dates_for_html_only)
    # after Sphinx-Gallery's generate_gallery_rst (builder-inited, priority 500)
    app.connect("builder-inited", make_code_thumbnails, priority=600)
    app.connect("html-page-context", add_run_time)
    app.connect("source-read", note_generated_sources)
    return {
        "version": "1.0",
        "env_version": 1,  # the recorded dependencies are env data: bump when they change
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
