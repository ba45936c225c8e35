"""Where the built site is, what it holds, and how to read its pages without a browser.

Everything here is discovered from ``docs/_build/html`` as ``nox -s docs`` leaves it, so a new
tutorial is tested as soon as it is built, without editing a list.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urldefrag, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "_build" / "html"
ARTIFACTS = ROOT / "docs" / "_build" / "browser-artifacts"
LANGUAGES = ("en", "zh_CN")  # folders of the site; English is the source
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}  # the <html lang> of each folder's pages
GALLERY = "auto_tutorials"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Tables the tests fill for the end of the run: title -> rows (header first); conftest prints
# them and writes each to the artifacts folder.
REPORTS: dict[str, list[list[str]]] = {}

# Debian's Chromium (.ci/install-chromium installs it); Playwright drives it, never downloads one.
CHROMIUM = Path(os.environ.get("PTTOUR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--no-sandbox",  # CI containers run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: the tests see only the site's traffic
    "--disable-component-update",
    "--no-first-run",
)


def other_language(lang: str) -> str:
    """The language the switcher of a ``lang`` page leads to."""
    return next(other for other in LANGUAGES if other != lang)


def site_is_built() -> bool:
    """Whether both languages and the root language chooser are there."""
    return (SITE / "index.html").is_file() and all(
        (SITE / lang / "index.html").is_file() for lang in LANGUAGES
    )


def published_path() -> str:
    """The URL path the site is published under (``/pttour/``), from the canonical links the
    build wrote when ``html_baseurl`` was set; ``/`` otherwise. The 404 page links by it."""
    index = SITE / "en" / "index.html"
    text = index.read_text(encoding="utf-8") if index.is_file() else ""
    found = re.search(r'<link rel="canonical" href="([^"]+)"', text)
    if not found:
        return "/"
    return urlsplit(found[1]).path.removesuffix("en/index.html") or "/"


def tutorials() -> list[str]:
    """The tutorial pages of the built site (``plot_NN_topic``), in either language, sorted."""
    return sorted(
        {page.stem for lang in LANGUAGES for page in (SITE / lang / GALLERY).glob("plot_*.html")}
    )


def pages(lang: str) -> list[str]:
    """Every HTML page of one language, as paths relative to the site root (``en/api.html``)."""
    folder = SITE / lang
    return sorted(
        path.relative_to(SITE).as_posix()
        for path in folder.rglob("*.html")
        if not any(part.startswith("_") for part in path.relative_to(folder).parts)
    )


def tutorial_file(lang: str, name: str) -> Path:
    """The built page of tutorial ``name`` in ``lang``."""
    return SITE / lang / GALLERY / f"{name}.html"


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
    """Parse one built HTML file."""
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
    page = tutorial_file(lang, name)
    found: dict[str, Path] = {}
    for tag, url in parse_links(page).urls:
        if tag != "a" or not is_internal(url):
            continue
        target, _ = resolve(page, url)
        if target.name in (f"{name}.py", f"{name}.ipynb", f"{name}.zip"):
            found[target.suffix] = target
    return found
