"""Where the built site is, what it holds, and how to read its pages without a browser.

Everything here is discovered from ``docs/_build/html`` as ``nox -s docs`` leaves it, so a new
tutorial is tested as soon as it is built, without editing a list.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "_build" / "html"
ARTIFACTS = ROOT / "docs" / "_build" / "browser-artifacts"
LANGUAGES = ("en", "zh_CN")  # folders of the site; English is the source
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}  # the <html lang> of each folder's pages
GALLERY = "auto_tutorials"
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

# The widths a page is visited at: a desktop (every rule, every colour mode) and a phone.
VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 800}}
MODES = ("light", "dark")
SEARCHES = {"en": "tensor", "zh_CN": "张量"}  # a search-results page per language


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


def showcase_tutorial() -> str | None:
    """The first tutorial that shows both a code output and a figure, else the first."""
    names = tutorials()
    for name in names:
        text = tutorial_file("en", name).read_text(encoding="utf-8")
        if "sphx-glr-script-out" in text and "sphx-glr-single-img" in text:
            return name
    return names[0] if names else None


# -- the pages a browser visits ------------------------------------------------------------------

# Every page of both languages, the root language chooser ("#choose" keeps it from
# redirecting) and a search-results page per language.
PAGES = [
    "index.html#choose",
    *pages("en"),
    *pages("zh_CN"),
    *(f"{lang}/search.html?q={quote(query)}" for lang, query in SEARCHES.items()),
]


@dataclass(frozen=True)
class Visit:
    """One page loaded at one viewport in one colour mode; every check of it shares the load."""

    path: str  # as the browser asks for it, relative to the site root
    viewport: str  # a key of VIEWPORTS
    mode: str  # one of MODES

    def __str__(self) -> str:
        return f"{self.viewport}-{self.mode}-{self.path}"

    @property
    def file(self) -> str:
        """The path without query and fragment: ``en/search.html``."""
        return self.path.split("?")[0].split("#")[0]

    @property
    def lang(self) -> str | None:
        """The page's language folder; None for the root chooser."""
        first, _, rest = self.file.partition("/")
        return first if rest else None

    @property
    def tutorial(self) -> str | None:
        """``plot_NN_topic`` on a tutorial page, else None."""
        found = re.fullmatch(rf"[^/]+/{GALLERY}/(plot_[^/]+)\.html", self.file)
        return found[1] if found else None

    @property
    def is_search_results(self) -> bool:
        return self.file.endswith("/search.html") and "?" in self.path

    @property
    def width(self) -> int:
        return VIEWPORTS[self.viewport]["width"]


def visits(viewports: tuple[str, ...], modes: tuple[str, ...], paths: list[str]) -> list[Visit]:
    """The visits of ``paths`` at each of ``viewports`` in each of ``modes``."""
    return [
        Visit(path, viewport, mode) for path in paths for viewport in viewports for mode in modes
    ]
