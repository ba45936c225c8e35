"""Fixtures of the browser tests: the built site served on 127.0.0.1, and Chromium to read it.

``nox -s browser`` runs these tests on the site that ``nox -s docs`` built; the default pytest
run leaves this folder out (``collect_ignore`` in ``tests/conftest.py``), and
``pytest tests/browser`` runs it by name. Playwright drives Debian's Chromium
(``.ci/install-chromium``); it never downloads a browser of its own.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._site import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPORTS,
    ROOT,
    SITE,
    published_path,
    site_is_built,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

VIEWPORT = {"width": 1280, "height": 800}  # wide enough for the full navbar


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip everything, saying how to build it, when there is no built site to test."""
    if site_is_built():
        return
    skip = pytest.mark.skip(reason=f"no built site in {SITE}; build it first with `nox -s docs`")
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(skip)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files without a log line per request (pytest would show them on failures).

    The site is served at ``/`` and also under the path it is published at (``/pttour/`` for
    ``https://pttour.github.io/pttour/``), where the 404 page's absolute links point.
    """

    published = "/"

    def translate_path(self, path: str) -> str:
        if self.published != "/" and path.startswith(self.published):
            path = "/" + path.removeprefix(self.published)
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection early is not the site's fault


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT/``, serving ``docs/_build/html`` (a free port, for this run)."""
    _QuietHandler.published = published_path()
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system, driven by Playwright."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed; `nox -s browser` installs it"
    )
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}; install it with .ci/install-chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Browser, site_url: str) -> Iterator[Callable[..., BrowserContext]]:
    """Make fresh browser contexts (empty cache and storage: a first visit), closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(base_url=site_url, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def shared_context(browser: Browser, site_url: str) -> Iterator[BrowserContext]:
    """One English-speaking context for the tests that only read pages: its cache stays warm.

    Its storage is emptied before every page loads, so each page is opened as by a reader who
    arrives on it first (the theme, for one, behaves differently on a first visit).
    """
    context = browser.new_context(base_url=site_url, locale="en-US", viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    context.add_init_script("try { localStorage.clear(); } catch (error) {}")
    yield context
    context.close()


@pytest.fixture
def page(shared_context: BrowserContext) -> Iterator[Page]:
    """A new page (tab) in the shared context."""
    page = shared_context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``docs/_build/browser-artifacts``: screenshots and reports for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# -- the page-weight table, printed once at the end of the run --------------------------------

_PAGE_WEIGHTS: dict[tuple[str, str], dict[str, int]] = {}  # (tutorial, lang) -> bytes by kind


@pytest.fixture(scope="session")
def page_weights() -> dict[tuple[str, str], dict[str, int]]:
    """Where the page-weight test records bytes per resource kind, for the summary table."""
    return _PAGE_WEIGHTS


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns (a Chinese character takes two columns)."""
    widths = [max(_width(str(cell)) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True))
        for row in rows
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the tables the tests collected (page weights, axe, search ranks) and save them."""
    if _PAGE_WEIGHTS:
        kinds = sorted({kind for row in _PAGE_WEIGHTS.values() for kind in row})
        REPORTS["page weight of the tutorials, first visit (kB)"] = [
            ["tutorial", "lang", *kinds, "total"],
            *(
                [
                    name,
                    lang,
                    *(f"{row.get(kind, 0) / 1000:.0f}" for kind in kinds),
                    f"{sum(row.values()) / 1000:.0f}",
                ]
                for (name, lang), row in sorted(_PAGE_WEIGHTS.items())
            ),
        ]
    for title, rows in REPORTS.items():
        lines = _table(rows)
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        report = ARTIFACTS / (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] + ".txt")
        report.write_text("\n".join(lines) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(also in {report.relative_to(ROOT)})")
