"""The tutorial pages as readers meet them: cards, the links at the top, run time and date.

A tutorial that draws no figure gets a card of its own code. Atop each tutorial: its downloads,
"Run in Google Colab", its source and a new issue. Its run time is Sphinx-Gallery's measurement,
kept out of the page's source (no message to translate; the Chinese build shows the English run's).
A generated page is dated by the files it is made from, recorded as its dependencies.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from docutils import nodes
from matplotlib.figure import Figure
from pttour_site import SITE_TEXT, language_url, site_language
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

THUMBNAIL_MARK = "pttour code thumbnail"  # in the PNG's metadata: a thumbnail made here
THUMBNAIL_LINES = 7
THUMBNAIL_COLUMNS = 27


def gallery_dirs(app: Sphinx) -> tuple[Path, Path]:
    """The gallery's source folder and the folder of its generated pages."""
    conf = app.config.sphinx_gallery_conf
    return Path(app.srcdir, conf["examples_dirs"]), Path(app.srcdir, conf["gallery_dirs"])


def tutorial_script(app: Sphinx, pagename: str) -> Path | None:
    """The script that page ``pagename`` was generated from, if it is a tutorial."""
    source_dir, gallery_dir = gallery_dirs(app)
    folder, _, name = pagename.rpartition("/")
    script = source_dir / f"{name}.py"
    return script if folder == gallery_dir.name and name.startswith("plot_") else None


def code_excerpt(source: str) -> list[str]:
    """The first lines of code a tutorial runs, without imports, comments and blank lines."""
    lines = source.splitlines()
    picked: list[str] = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Import | ast.ImportFrom) or (
            isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        ):
            continue  # imports, the docstring
        for line in lines[statement.lineno - 1 : statement.end_lineno or statement.lineno]:
            code = line.split("  #", 1)[0].rstrip()
            if code.strip() and not code.lstrip().startswith("#"):
                picked.append(code)
        if len(picked) >= THUMBNAIL_LINES:
            break
    return picked[:THUMBNAIL_LINES]


def render_code_thumbnail(lines: list[str], size: tuple[int, int]) -> bytes:
    """A PNG of ``size`` pixels showing ``lines`` as code on a light editor background."""
    figure = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100, facecolor="#f6f8fa")
    shown = [x if len(x) <= THUMBNAIL_COLUMNS else x[: THUMBNAIL_COLUMNS - 1] + "…" for x in lines]
    style = {"family": "DejaVu Sans Mono", "fontsize": 11, "color": "#1f2328", "linespacing": 1.4}
    figure.text(0.05, 0.93, "\n".join(shown), va="top", ha="left", **style)
    buffer = io.BytesIO()
    metadata = {"Software": None, "Title": THUMBNAIL_MARK}
    figure.savefig(buffer, format="png", dpi=100, metadata=metadata)
    return buffer.getvalue()


def make_code_thumbnails(app: Sphinx) -> None:
    """Give every tutorial that drew no figure a thumbnail of its own code."""
    size = tuple(app.config.sphinx_gallery_conf.get("thumbnail_size", (320, 224)))
    source_dir, gallery_dir = gallery_dirs(app)
    images = gallery_dir / "images"
    for script in sorted(source_dir.glob("plot_*.py")):
        thumb = images / "thumb" / f"sphx_glr_{script.stem}_thumb.png"
        if (images / f"sphx_glr_{script.stem}_001.png").is_file() or not thumb.is_file():
            continue  # a thumbnail of the tutorial's figure, or none generated (yet)
        current = thumb.read_bytes()
        if THUMBNAIL_MARK.encode() in current and thumb.stat().st_mtime >= script.stat().st_mtime:
            continue  # ours, and the script has not changed since
        png = render_code_thumbnail(code_excerpt(script.read_text(encoding="utf-8")), size)
        if png != current:
            thumb.write_bytes(png)
            logger.info("pttour: code thumbnail for %s", script.name)


def format_seconds(seconds: float) -> str:
    """Seconds as a reader wants them: 0.4, 2.7, 13; never "0.0", which reads as "did not run"."""
    if seconds < 0.05:
        return "< 0.1"
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def colab_url(repository: str, branch: str, path: str) -> str:
    """The address at which Colab opens the notebook ``path`` of ``branch`` of a repository."""
    owner_and_name = urlsplit(repository).path.strip("/").removesuffix(".git")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/{branch}/{path}"


def _download(app: Sphinx, docname: str, filename: str) -> str | None:
    """Where the download ``filename`` of page ``docname`` lies in the built site, if it has it."""
    for source, (docnames, destination) in app.env.dlfiles.items():
        if docname in docnames and Path(source).name == filename:
            return f"_downloads/{destination}"
    return None


def add_tutorial_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Hand a tutorial page's run time and its five links, in its language, to the templates."""
    context["pttour_run_time"] = context["pttour_actions"] = None
    script = tutorial_script(app, pagename)
    if script is None:
        return
    lang = site_language(app.config.language)
    text, config = SITE_TEXT[lang], app.config
    try:
        cost = (gallery_dirs(app)[1] / f"{script.stem}.cost.json").read_text(encoding="utf-8")
        seconds = float(json.loads(cost)["time"])
    except (OSError, ValueError, KeyError, TypeError):
        seconds = 0  # no time recorded
    if seconds > 0:
        context["pttour_run_time"] = text["run_time"].format(seconds=format_seconds(seconds))
    py, ipynb = (_download(app, pagename, script.with_suffix(s).name) for s in (".py", ".ipynb"))
    if not script.is_file() or py is None or ipynb is None:
        return
    address = (language_url(config.html_baseurl, lang) or f"{lang}/") + (
        app.builder.get_target_uri(pagename)
    )
    report = {
        "title": text["report_title"].format(title=app.env.titles[pagename].astext()),
        "body": text["report_body"].format(address=address),
    }
    repository = config.pttour_repository_url.rstrip("/")
    # HEAD: GitHub's name for the default branch, whatever it is called
    source = f"{repository}/blob/HEAD/{script.relative_to(Path(app.srcdir).parent).as_posix()}"
    context["pttour_actions"] = {  # labelled by the template, from pttour_text["action_..."]
        "py": context["pathto"](py, 1),
        "ipynb": context["pathto"](ipynb, 1),
        "colab": colab_url(repository, config.pttour_published_branch, f"{lang}/{ipynb}"),
        "source": source,
        "report": f"{config.pttour_issues_url.rstrip('/')}/new?{urlencode(report)}",
    }


class DropGoToTheEndNote(SphinxPostTransform):
    """Leave Sphinx-Gallery's "Go to the end to download" note out of the HTML pages."""

    default_priority = 5
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.Element)):
            if "sphx-glr-download-link-note" in node.get("classes", ()):
                node.parent.remove(node)


def note_generated_sources(app: Sphinx, docname: str, source: list[str]) -> None:
    """Record what a generated page is made from as its dependencies (and so its date): a
    tutorial's script, the gallery header for its index, and for a page ``NAME`` written by
    ``docs/_ext/pttour_NAME.py`` that extension and its data, ``docs/_data/NAME.*``."""
    source_dir, gallery_dir = gallery_dirs(app)
    folder, _, name = docname.rpartition("/")
    srcdir = Path(app.srcdir)
    if folder == gallery_dir.name:
        candidates = [source_dir / f"{name}.py"] if name != "index" else []
        candidates += [source_dir / "GALLERY_HEADER.rst", source_dir / "README.rst"]
        for candidate in candidates:
            if candidate.is_file():
                app.env.note_dependency(candidate, docname=docname)
                break
    elif not folder and (generator := srcdir / "_ext" / f"pttour_{docname}.py").is_file():
        for dependency in [generator, *sorted((srcdir / "_data").glob(f"{name}.*"))]:
            app.env.note_dependency(dependency, docname=docname)


def dates_for_html_only(app: Sphinx) -> None:
    """Ask git for "last updated" dates only in HTML builds: a gettext build shows no date and
    may run on a copy of ``docs/`` outside the repository (``tests/test_docs_catalogs.py``)."""
    if app.builder.format != "html":
        app.config.git_exclude_patterns = ["**"]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("pttour_repository_url", "", "html", types=[str])
    app.add_config_value("pttour_issues_url", "", "html", types=[str])
    app.add_config_value("pttour_published_branch", "", "html", types=[str])
    app.connect("html-page-context", add_tutorial_context)
    app.add_post_transform(DropGoToTheEndNote)
    app.connect("builder-inited", dates_for_html_only)
    # after Sphinx-Gallery's generate_gallery_rst (builder-inited, priority 500)
    app.connect("builder-inited", make_code_thumbnails, priority=600)
    app.connect("source-read", note_generated_sources)
    return {
        "version": "1.0",
        "env_version": 1,  # the recorded dependencies are env data: bump when they change
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
