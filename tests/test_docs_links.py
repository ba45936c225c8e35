"""The built site's links and downloads, read from the files: no browser needed.

Every link and resource inside the site resolves (crawling both languages from the root page),
each tutorial's downloads parse, its zip holds the same script and notebook, and the Chinese
downloads keep the English code under Chinese prose (``docs/_ext/pttour_downloads.py`` writes
them from the English ones and the page's catalog). ``nox -s docs`` runs these after the build;
without a built site they skip, saying so.
"""

from __future__ import annotations

import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
LANGUAGES = ("en", "zh_CN")
GALLERY = "auto_tutorials"
TUTORIALS = tuple(sorted(path.stem for path in (ROOT / "docs" / "tutorials").glob("plot_*.py")))
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]")
# Fragments that every browser understands without an element of that id.
_BUILT_IN_FRAGMENTS = {"", "top"}

needs_site = pytest.mark.skipif(
    not all((SITE / lang / "index.html").is_file() for lang in LANGUAGES),
    reason=f"no built site in {SITE}; build it with `nox -s docs`",
)


class PageLinks(HTMLParser):
    """The URLs a page points to (``href`` and ``src`` of the tags that load or link) and its ids."""

    _URL_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "a": "href",
        "link": "href",
        "area": "href",
        "script": "src",
        "img": "src",
        "source": "src",
        "iframe": "src",
        "embed": "src",
        "video": "src",
        "audio": "src",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        attribute = self._URL_ATTRIBUTES.get(tag)
        if attribute and attribute in values:
            self.urls.append((tag, values[attribute]))
        for name in ("id", "name") if tag == "a" else ("id",):
            if name in values:
                self.ids.add(values[name])


def parse_links(path: Path) -> PageLinks:
    parser = PageLinks()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def is_internal(url: str) -> bool:
    """Whether ``url`` points into the site (relative, no scheme, no host)."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def resolve(page: Path, url: str) -> tuple[Path, str]:
    """The file and fragment an internal ``url`` on ``page`` points to."""
    target, fragment = urldefrag(url)
    path = unquote(urlsplit(target).path)
    return ((page.parent / path).resolve() if path else page.resolve()), unquote(fragment)


def downloads(lang: str, name: str) -> dict[str, Path]:
    """The ``.py``, ``.ipynb`` and ``.zip`` files the tutorial page ``name`` offers, by suffix."""
    page = SITE / lang / GALLERY / f"{name}.html"
    found: dict[str, Path] = {}
    for tag, url in parse_links(page).urls:
        if tag != "a" or not is_internal(url):
            continue
        target, _ = resolve(page, url)
        stem = name if lang == "en" else f"{name}_{lang}"  # the Chinese files carry the language
        if target.name in (f"{stem}.py", f"{stem}.ipynb", f"{stem}.zip"):
            found[target.suffix] = target
    return found


@needs_site
def test_every_internal_link_resolves() -> None:
    start = (SITE / "index.html").resolve()
    site = SITE.resolve()
    queue, seen = [start], {start}
    ids: dict[Path, set[str]] = {}
    broken: list[str] = []
    while queue:
        page = queue.pop()
        parsed = parse_links(page)
        ids[page] = parsed.ids
        for tag, url in parsed.urls:
            if not is_internal(url):
                continue
            target, fragment = resolve(page, url)
            where = f"{page.relative_to(site)}: <{tag}> {url}"
            if not target.is_relative_to(site):
                broken.append(f"{where} (leaves the site)")
                continue
            if target.is_dir():
                target /= "index.html"
            if not target.is_file():
                broken.append(f"{where} (no such file)")
                continue
            if target.suffix != ".html":
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
            if fragment not in _BUILT_IN_FRAGMENTS:
                if target not in ids:
                    ids[target] = parse_links(target).ids
                if fragment not in ids[target]:
                    broken.append(f"{where} (no element with id {fragment!r})")
    for lang in LANGUAGES:
        assert (site / lang / "index.html") in seen, f"the root page does not lead to {lang}/"
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:100])


# -- the downloads of each tutorial -------------------------------------------------------------


def _blocks(script: Path) -> list:
    """Sphinx-Gallery's own split of a script into text and code blocks."""
    parser = pytest.importorskip(
        "sphinx_gallery.py_source_parser", reason="Sphinx-Gallery is not installed; use nox -s docs"
    )
    return parser.split_code_and_text_blocks(str(script))[1]


def _cells(notebook: Path, kind: str) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]).strip("\n") for cell in cells if cell["cell_type"] == kind]


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_every_download_parses(lang: str, name: str) -> None:
    """The script compiles and the notebook is JSON with cells (the runs: ``nox -s downloads``)."""
    files = downloads(lang, name)
    assert {".py", ".ipynb"} <= set(files), f"{lang}/{name} offers {sorted(files)}"
    for path in (files[".py"], files[".ipynb"]):
        body = path.read_bytes()
        assert body, f"{path} is empty"
        if path.suffix == ".ipynb":
            assert json.loads(body)["cells"], f"{path} is a notebook without cells"
        else:
            compile(body, str(path), "exec")  # a SyntaxError fails the test


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_zip_holds_the_same_script_and_notebook(lang: str, name: str) -> None:
    files = downloads(lang, name)
    archive = files.pop(".zip", None)
    assert archive is not None, f"{lang}/{name} offers no zip"
    assert archive.is_file(), f"{archive} is missing"
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == sorted(path.name for path in files.values())
        for path in files.values():
            assert zipped.read(path.name) == path.read_bytes(), f"{archive.name}: {path.name}"


@needs_site
@pytest.mark.parametrize("name", TUTORIALS)
def test_chinese_download_has_chinese_prose(name: str) -> None:
    chinese = downloads("zh_CN", name)
    prose = [
        b.content for b in _blocks(chinese[".py"]) if b.type == "text" and _WORDS.search(b.content)
    ]
    assert prose, f"{name}.py has no prose at all"
    assert CJK.search(prose[0]), f"the title and introduction of zh_CN {name}.py are not Chinese"
    # Directive bodies and indented material stay English by design, so not every block must be
    # Chinese; most of them must.
    in_chinese = [text for text in prose if CJK.search(text)]
    assert 2 * len(in_chinese) >= len(prose), (
        f"zh_CN {name}.py: only {len(in_chinese)} of {len(prose)} prose blocks are Chinese"
    )
    markdown = _cells(chinese[".ipynb"], "markdown")
    assert markdown, f"zh_CN {name}.ipynb has no text cell"
    assert CJK.search(markdown[0]), f"zh_CN {name}.ipynb opens without Chinese"
