"""Fixtures of the browser tests: the built site served on 127.0.0.1, Chromium, and visits.

``nox -s browser`` runs these tests on the site that ``nox -s docs`` built; the default pytest
run leaves this folder out (``collect_ignore`` in ``tests/conftest.py``), and
``pytest tests/browser`` runs it by name. Playwright drives Debian's Chromium
(``.ci/install-chromium``); it never downloads a browser of its own.

A **visit** is one page loaded at one viewport in one colour mode. A check of what a page
shows is a test function that takes the ``visit`` fixture and is parametrized with
``@for_visits(...)``; the tests are put in visit order, so every check of a visit runs on the
same load, one after another, and the page is loaded once for all of them. Adding a check is
adding such a function.

The visits of one page (its widths and modes) are loaded together, each in a tab of its own
context, and a check that makes the page compute for long (axe) may start that work as soon
as its tab has loaded (``ON_LOAD``): the tabs compute side by side, on as many cores as there
are, while the checks of the first tab run. A check that changes the page (resizes it, opens
its solutions) first waits for that work (``LoadedVisit.wait_idle``).
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from _durations import pytest_runtest_logreport, write_table  # noqa: F401

from ._site import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MODES,
    PAGES,
    REPORTS,
    ROOT,
    SITE,
    VIEWPORTS,
    Visit,
    published_path,
    site_is_built,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
    )

DEFAULT_VIEWPORT = VIEWPORTS["desktop"]
TIMEOUT_MS = 30_000


# Work a check starts as soon as a visit's tab has loaded: test function name -> starter. The
# starter runs in the page and returns a JavaScript expression that is true once it is done.
ON_LOAD: dict[str, Callable[[LoadedVisit], str]] = {}
# What this run will check, in order: visit -> the names of its checks (pytest_collection_finish).
PLANNED: dict[Visit, list[str]] = {}


def for_visits(visits: list[Visit]) -> pytest.MarkDecorator:
    """Parametrize a check over ``visits`` (see the module's docstring)."""
    return pytest.mark.parametrize("visit", visits, ids=str, indirect=True)


def run_last(function: Callable) -> Callable:
    """Run this test after every visit (a summary of what the visits measured)."""
    function.run_last = True
    return function


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip everything without a built site; put the checks of each visit next to each other."""
    if not site_is_built():
        skip = pytest.mark.skip(
            reason=f"no built site in {SITE}; build it first with `nox -s docs`"
        )
        here = Path(__file__).parent
        for item in items:
            if item.path.is_relative_to(here):
                item.add_marker(skip)
        return
    page_order = {path: i for i, path in enumerate(PAGES)}
    viewport_order = {name: i for i, name in enumerate(VIEWPORTS)}
    mode_order = {mode: i for i, mode in enumerate(MODES)}

    def order(indexed: tuple[int, pytest.Item]) -> tuple:
        index, item = indexed
        if getattr(getattr(item, "function", None), "run_last", False):
            return (2, index)
        callspec = getattr(item, "callspec", None)
        visit = callspec.params.get("visit") if callspec else None
        if not isinstance(visit, Visit):
            return (1, index)  # the tests that load pages of their own, after the visits
        return (
            0,
            page_order.get(visit.path, len(page_order)),
            visit.path,
            viewport_order[visit.viewport],
            mode_order[visit.mode],
            index,
        )

    items[:] = [item for _, item in sorted(enumerate(items), key=order)]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note which checks each visit will run, after selection (``-k``), in run order."""
    PLANNED.clear()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        visit = callspec.params.get("visit") if callspec else None
        if isinstance(visit, Visit):
            PLANNED.setdefault(visit, []).append(getattr(item, "originalname", item.name))


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
        options.setdefault("viewport", DEFAULT_VIEWPORT)
        context = browser.new_context(base_url=site_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
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
    context = browser.new_context(base_url=site_url, locale="en-US", viewport=DEFAULT_VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
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


# -- visits ----------------------------------------------------------------------------------------


def watch_for_errors(page: Page) -> list[str]:
    """Collect what goes wrong on ``page`` from now on: uncaught errors, console errors, 4xx/5xx."""
    problems: list[str] = []

    def is_favicon(url: str) -> bool:
        # Chromium asks every server for /favicon.ico by itself; no page of the site links it.
        return urlsplit(url).path == "/favicon.ico"

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error" or is_favicon(message.location.get("url", "")):
            return
        if message.text.startswith("Failed to load resource"):
            return  # reported, with its URL, by on_response
        problems.append(f"console.error: {message.text} (at {message.location.get('url')})")

    def on_response(response: Response) -> None:
        if response.status >= 400 and not is_favicon(response.url):
            problems.append(f"HTTP {response.status} for {response.url}")

    page.on("pageerror", lambda error: problems.append(f"uncaught {error.name}: {error.message}"))
    page.on("console", on_console)
    page.on("response", on_response)
    return problems


SEARCH_FINISHED = (
    "() => document.querySelector('#search-results .search-summary')?.textContent.trim()"
)


@dataclass
class LoadedVisit:
    """A visit's open page, and what its load left for the checks."""

    spec: Visit
    page: Page
    problems: list[str]  # errors the page reported while it loaded (and its queued work ran)
    requests: list[Request]  # what the page downloaded (the cache is off on desktop-light)
    seconds: float = 0.0  # the load
    error: BaseException | None = None  # the load itself failed: every check of it fails
    notes: dict[str, Any] = field(default_factory=dict)  # what one check leaves for another
    busy: list[str] = field(default_factory=list)  # JS: true once the work started on load ends

    def wait_idle(self, timeout_ms: float = 300_000) -> None:
        """Wait for the work that checks started on load (before changing the page)."""
        for done in self.busy:
            self.page.wait_for_function(done, timeout=timeout_ms)
        self.busy.clear()

    def open_solutions(self) -> None:
        """Open every collapsed ``<details>`` (exercise solutions), as a reader may."""
        self.wait_idle()
        if not self.notes.get("details opened"):
            self.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            self.notes["details opened"] = True


class _Visits:
    """The open visits: those of one page; a test asking for another page's closes them."""

    def __init__(self, browser: Browser, site_url: str) -> None:
        self.browser = browser
        self.site_url = site_url
        self.contexts: dict[tuple[str, str], BrowserContext] = {}
        self.open: dict[Visit, LoadedVisit] = {}

    def context(self, viewport: str, mode: str) -> BrowserContext:
        """One context per viewport and colour mode; the theme reads the mode before it paints."""
        key = (viewport, mode)
        if key not in self.contexts:
            context = self.browser.new_context(
                base_url=self.site_url,
                locale="en-US",
                color_scheme=mode,
                viewport=VIEWPORTS[viewport],
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(
                f"try {{ localStorage.clear(); localStorage.setItem('mode', '{mode}'); }}"
                " catch (e) {}"
            )
            self.contexts[key] = context
        return self.contexts[key]

    def get(self, spec: Visit) -> LoadedVisit:
        if spec not in self.open:
            self.close_open()
            group = [other for other in PLANNED if other.path == spec.path] or [spec]
            for other in dict.fromkeys([spec, *group]):
                self.open[other] = self._load(other)
        return self.open[spec]

    def _load(self, spec: Visit) -> LoadedVisit:
        page = self.context(spec.viewport, spec.mode).new_page()
        requests: list[Request] = []
        visit = LoadedVisit(spec, page, watch_for_errors(page), requests)
        if (spec.viewport, spec.mode) == ("desktop", "light"):
            # A first visit, as a reader makes it: what it downloads is the page's weight.
            session = page.context.new_cdp_session(page)
            session.send("Network.enable")
            session.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.on("requestfinished", lambda request: requests.append(request))
        started = time.monotonic()
        try:
            page.goto(spec.path)
            if spec.is_search_results:
                page.wait_for_function(SEARCH_FINISHED)
            page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")  # queued work
            # What the page did by itself; not what the checks' own scripts do to it later
            # (axe fetches the stylesheets again to read them, by addresses of its own).
            visit.problems = list(visit.problems)
            for check in dict.fromkeys(PLANNED.get(spec, [])):
                if check in ON_LOAD:
                    visit.busy.append(ON_LOAD[check](visit))
        except Exception as error:  # noqa: BLE001 - reported by every check of this visit
            visit.error = error
        visit.seconds = time.monotonic() - started
        return visit

    def close_open(self) -> None:
        for visit in self.open.values():
            visit.page.close()
        self.open.clear()

    def close(self) -> None:
        self.close_open()
        for context in self.contexts.values():
            context.close()


@pytest.fixture(scope="session")
def _visits(browser: Browser, site_url: str) -> Iterator[_Visits]:
    visits = _Visits(browser, site_url)
    yield visits
    visits.close()


@pytest.fixture
def visit(request: pytest.FixtureRequest, _visits: _Visits) -> LoadedVisit:
    """The loaded page of the visit this test is parametrized with (``@for_visits``)."""
    loaded = _visits.get(request.param)
    if loaded.error is not None:
        pytest.fail(f"{loaded.spec}: the page did not load: {loaded.error}")
    return loaded


# -- the tables printed once at the end of the run --------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns (a Chinese character takes two columns)."""
    widths = [max(_width(str(cell)) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True))
        for row in rows
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the tables the tests collected (page weights, axe, search ranks) and save them."""
    write_table(terminalreporter, config)
    for title, rows in REPORTS.items():
        lines = _table(rows)
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        report = ARTIFACTS / (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] + ".txt")
        report.write_text("\n".join(lines) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(also in {report.relative_to(ROOT)})")
