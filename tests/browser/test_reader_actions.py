"""What a reader does with a page and where the site keeps them, in Chromium.

- The language switcher keeps the reader's place: the section (``#fragment``) and the search
  query (``?q=``), both ways.
- At 360 px every heading, prev/next link, gallery card title, download button and link at the
  top of a tutorial shows its whole text (:func:`clipped_texts`, run on every page's phone
  visit in ``test_visits.py``).
- Missing pages: the site root's 404 page, served as GitHub Pages serves it (for any missing
  address, at any depth, with the site at ``/`` or under a sub-path), is styled and leads
  into the site; each language's 404 page is styled wherever a server shows it. Both pass
  axe-core (WCAG 2.0, 2.1 and 2.2, A and AA) and show the favicon.
- Search snippets quote the sentence that matched, never the chrome of the page.

Each check is a function of an open page; the tests around them are thin, so that one visit of a
page can run every check it needs.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest

from ._site import GALLERY, HTML_LANG, LANGUAGES, SITE, other_language, tutorials

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TUTORIALS = tutorials()
PHONE = 360
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SEARCH_TIMEOUT_MS = 15_000


# -- the switcher keeps the reader's place ---------------------------------------------------------


def deep_section(lang: str) -> tuple[str, str]:
    """A tutorial and the id of its last section: the reader is far down the page."""
    for name in TUTORIALS:
        text = (SITE / lang / GALLERY / f"{name}.html").read_text(encoding="utf-8")
        ids = re.findall(r'<section id="([^"]+)"', text)
        if len(ids) > 4:
            return name, ids[-1]
    pytest.fail("no tutorial has more than four sections")


def switch_language(page: Page) -> None:
    """Click the switcher the reader sees and wait for the other language's page."""
    before = page.url
    page.locator("a.pttour-language-switcher").locator("visible=true").first.click()
    page.wait_for_url(lambda url: url != before, wait_until="domcontentloaded")


def place(page: Page) -> dict[str, Any]:
    """The language, section and query of the page, and whether the section is on screen."""
    return page.evaluate(
        """() => {
          const target = location.hash && document.getElementById(location.hash.slice(1));
          const top = target ? target.getBoundingClientRect().top : null;
          return {lang: document.documentElement.lang, hash: location.hash,
                  query: new URLSearchParams(location.search).get('q'),
                  onScreen: top !== null && top >= -1 && top < innerHeight};
        }"""
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switcher_keeps_the_section_both_ways(page: Page, lang: str) -> None:
    name, section = deep_section(lang)
    page.goto(f"{lang}/{GALLERY}/{name}.html#{section}")
    for expected in (other_language(lang), lang):
        switch_language(page)
        page.wait_for_load_state("load")
        found = place(page)
        assert found["lang"] == HTML_LANG[expected], found
        assert found["hash"] == f"#{section}", f"the section was lost: {page.url}"
        assert found["onScreen"], f"#{section} is not on screen after switching"


def test_switcher_keeps_a_section_the_reader_went_to_on_the_page(page: Page) -> None:
    name, _ = deep_section("en")
    page.goto(f"en/{GALLERY}/{name}.html")
    last = page.locator(".bd-toc a.nav-link").last  # "On this page": its last section
    section = last.get_attribute("href")
    last.evaluate("link => link.click()")  # also on a phone, where the list is folded away
    page.wait_for_url(f"**{section}")
    switch_language(page)
    assert place(page)["hash"] == section


@pytest.mark.parametrize(("lang", "query"), [("en", "tensor"), ("zh_CN", "张量")])
def test_switcher_keeps_the_search_query_both_ways(page: Page, lang: str, query: str) -> None:
    page.goto(f"{lang}/search.html?q={quote(query)}")
    for expected in (other_language(lang), lang):
        switch_language(page)
        found = place(page)
        assert (found["lang"], found["query"]) == (HTML_LANG[expected], query), found
        assert page.locator("form.bd-search input").first.input_value() == query
        search_results(page)  # the search runs again, in the other language


# -- phones: whole texts at 360 px ---------------------------------------------------------------

WHOLE_TEXT = (
    ".bd-article :is(h1, h2, h3, h4, h5, h6), .prev-next-area a, .sphx-glr-thumbnail-title, "
    "div.sphx-glr-download a, .pttour-actions a"
)
_CLIPPED = """selector => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  for (const element of document.querySelectorAll(selector)) {
    if (!element.getClientRects().length) continue;  // not shown (a closed solution)
    const range = document.createRange();
    range.selectNodeContents(element);
    const boxes = [...range.getClientRects()].filter(box => box.width > 0);
    const clips = [];  // the element and its ancestors that cut what overflows them
    for (let e = element; e && e !== document.body; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.overflowX !== 'visible' || style.overflowY !== 'visible')
        clips.push(e.getBoundingClientRect());
      if (style.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth)
        problems.push(['ellipsis', element.textContent.trim().slice(0, 60)]);
    }
    const outside = boxes.some(box => box.left < -0.5 || box.right > width + 0.5
      || clips.some(c => box.left < c.left - 0.5 || box.right > c.right + 0.5
                         || box.top < c.top - 0.5 || box.bottom > c.bottom + 0.5));
    if (outside) problems.push(['cut or off screen', element.textContent.trim().slice(0, 60)]);
  }
  return problems;
}"""


def clipped_texts(page: Page) -> list[str]:
    """The headings, prev/next links, card titles and buttons whose whole text is not shown."""
    return [f"{why}: {text!r}" for why, text in page.evaluate(_CLIPPED, WHOLE_TEXT)]


# -- search snippets ------------------------------------------------------------------------------


def search_results(page: Page, top: int = 5) -> list[dict[str, str]]:
    """The first results of the search the page shows: href, title and snippet (None for an
    API object, which Sphinx describes instead), once loaded."""
    page.wait_for_function(
        "() => document.querySelector('#search-results .search-summary')?.textContent.trim()",
        timeout=SEARCH_TIMEOUT_MS,
    )
    page.wait_for_function(
        """top => [...document.querySelectorAll('#search-results ul.search > li')].slice(0, top)
                 .every(item => item.querySelector('p.context') || item.querySelector('span'))""",
        arg=top,
        timeout=SEARCH_TIMEOUT_MS,
    )
    return page.locator("#search-results ul.search > li").evaluate_all(
        """(items, top) => items.slice(0, top).map(item => ({
             href: item.querySelector('a').href, title: item.querySelector('a').textContent,
             snippet: item.querySelector('p.context')?.textContent ?? null}))""",
        top,
    )


def _labels(lang: str) -> list[str]:
    """The labels of the links at the top of a tutorial, as its built page shows them."""
    text = (SITE / lang / GALLERY / f"{TUTORIALS[0]}.html").read_text(encoding="utf-8")
    actions = re.search(r'<ul class="pttour-actions">(.*?)</ul>', text, re.DOTALL)
    assert actions, f"{lang}: the first tutorial has no links at its top"
    labels = re.findall(r'class="pttour-action"[^>]*>(?:<i [^>]*></i>)?([^<]+)</a>', actions[1])
    return [" ".join(label.split()) for label in labels]


# What a page holds besides its text, and what a snippet must never quote: Sphinx-Gallery's
# note and buttons, the theme's footers; and, read from the built pages, the links at the top
# of a tutorial (_labels) and each result's breadcrumbs (below).
BOILERPLATE = {
    "en": [
        "Go to the end",
        "to download the full example code",
        "Download Python source code:",
        "Download Jupyter notebook:",
        "Download zipped:",
        "Gallery generated by Sphinx-Gallery",
        "Last updated on",
        "The code on this page ran in",
    ],
    "zh_CN": [
        "跳到末尾",
        "下载完整示例代码",
        "下载 Python 源代码：",
        "下载 Jupyter notebook：",
        "下载压缩包：",
        "由 Sphinx-Gallery 生成的示例集",
        "最后更新于",
        "本页代码运行用时",
    ],
}
SNIPPET_SEARCHES = [("zh_CN", "张量"), ("zh_CN", "检查点"), ("en", "checkpoint"), ("en", "tensor")]


def breadcrumbs(page: Page, href: str) -> str:
    """The breadcrumbs of the page at ``href`` as text, as a snippet would quote them."""
    return page.evaluate(
        """async href => {
          const text = await (await fetch(href)).text();
          const crumbs = new DOMParser().parseFromString(text, 'text/html')
            .querySelector('.bd-breadcrumbs');
          return crumbs ? crumbs.textContent.replace(/\\s+/g, ' ').trim() : '';
        }""",
        href,
    )


def boilerplate_in_snippets(page: Page, lang: str, query: str) -> list[str]:
    """The snippets among the first five results that quote chrome, or that quote no sentence
    with the query in it when the result's title does not hold it either (a section found by
    its title shows its first sentence)."""
    page.goto(f"{lang}/search.html?q={quote(query)}")
    results = search_results(page)
    assert len(results) == 5, f"{lang} {query!r}: {len(results)} results"
    problems = []
    for result in results:
        if result["snippet"] is None:
            continue  # an API object: its description, not a quote of a page
        snippet = " ".join(result["snippet"].split())
        quoted = [text for text in [*BOILERPLATE[lang], *_labels(lang)] if text in snippet]
        crumbs = breadcrumbs(page, result["href"])
        if crumbs and crumbs in snippet:
            quoted.append(crumbs)
        shown = f"{result['title']} {snippet}".lower()
        if quoted or query.lower() not in shown:
            problems.append(f"{result['title']}: {snippet!r} (quotes {quoted})")
    return problems


@pytest.mark.parametrize(("lang", "query"), SNIPPET_SEARCHES)
def test_search_snippets_quote_what_matched(page: Page, lang: str, query: str) -> None:
    problems = boilerplate_in_snippets(page, lang, query)
    assert not problems, f"{lang} {query!r}:\n" + "\n".join(problems)


# -- missing pages, served as GitHub Pages serves them ----------------------------------------------


class _PagesHandler(http.server.SimpleHTTPRequestHandler):
    """The built site under ``prefix``; a missing address gets the root 404.html with status
    404, as on GitHub Pages, or, inside a language folder and with ``language_404``, that
    language's 404.html (as other hosts do)."""

    prefix = "/"
    language_404 = False

    def translate_path(self, path: str) -> str:
        path = urlsplit(path).path
        inside = path.startswith(self.prefix)
        return super().translate_path("/" + path.removeprefix(self.prefix) if inside else "/-")

    def send_head(self) -> Any:
        if Path(self.translate_path(self.path)).exists():
            return super().send_head()
        rest = urlsplit(self.path).path.removeprefix(self.prefix)
        folder = rest.split("/", 1)[0] if "/" in rest else ""
        page = f"{folder}/404.html" if self.language_404 and folder in LANGUAGES else "404.html"
        body = (SITE / page).read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Body(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, *args: Any) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def pages_host() -> Iterator[Any]:
    """``host(prefix, language_404)``: the origin of a server that serves the site like that."""
    servers = []

    def host(prefix: str, language_404: bool = False) -> str:
        handler = type(
            "Handler", (_PagesHandler,), {"prefix": prefix, "language_404": language_404}
        )
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(SITE))
        )
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield host
    for server in servers:
        server.shutdown()
        server.server_close()


def failed_requests(page: Page) -> list[str]:
    """Collect, from now on, the requests of ``page`` that fail, but the missing page itself."""
    failed: list[str] = []
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and r.request.resource_type != "document"
            and failed.append(f"{r.status} {r.url}")
        ),
    )
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
    return failed


_STYLED = """() => ({
  sheets: [...document.styleSheets].filter(s => { try { return s.cssRules.length > 0; }
                                                  catch (e) { return false; } }).length,
  unstyled: [...document.querySelectorAll('link[rel="stylesheet"]')]
    .filter(link => { try { return !link.sheet.cssRules.length; } catch (e) { return true; } })
    .map(link => link.href),
  font: getComputedStyle(document.body).fontFamily,
  width: document.querySelector('main, .bd-main')?.getBoundingClientRect().width,
  icon: document.querySelector('link[rel="icon"]')?.href ?? null,
})"""


def icon_loads(page: Page, href: str | None) -> bool:
    """Whether the favicon at ``href`` loads (a data: address counts when it is an SVG)."""
    if not href:
        return False
    if href.startswith("data:image/svg+xml,"):
        return "<svg" in href or "%3Csvg" in href
    return page.evaluate("async href => (await fetch(href)).ok", href)


@pytest.mark.parametrize("prefix", ["/", "/pttour-fork/"])
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_root_404_is_styled_and_leads_into_the_site(
    browser: Browser, pages_host: Any, artifacts: Path, prefix: str, mode: str, axe_script: str
) -> None:
    origin = pages_host(prefix)
    context = browser.new_context(color_scheme=mode, viewport={"width": PHONE, "height": 800})
    try:
        page = context.new_page()
        failed = failed_requests(page)
        response = page.goto(f"{origin}{prefix}no/such/folder/page.html")
        assert response is not None
        assert response.status == 404
        link = page.get_by_role("link", name="pttour in English")
        page.wait_for_function(
            "([link, want]) => link.href.endsWith(want)",
            arg=[link.element_handle(), f"{prefix}en/index.html"],
        )
        styled = page.evaluate(_STYLED)
        assert styled["sheets"] == 1, styled  # its own <style>
        assert "system-ui" in styled["font"], styled
        assert styled["width"] <= PHONE - 16, f"the text runs to the edge: {styled}"
        assert icon_loads(page, styled["icon"]), styled["icon"]
        assert not axe_violations(page, axe_script)
        page.screenshot(path=artifacts / f"root-404-{prefix.strip('/') or 'root'}-{mode}.png")
        assert not [f for f in failed if "/en/index.html" not in f], failed  # the probe's 404s
        link.click()
        page.wait_for_url(f"{origin}{prefix}en/index.html")
        assert page.get_attribute("html", "lang") == "en"
    finally:
        context.close()


@pytest.mark.parametrize("prefix", ["/", "/pttour-fork/"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_404_is_styled_wherever_it_is_shown(
    browser: Browser, pages_host: Any, prefix: str, lang: str, axe_script: str
) -> None:
    origin = pages_host(prefix, language_404=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        failed = failed_requests(page)
        response = page.goto(f"{origin}{prefix}{lang}/deep/down/no-such-page.html")
        assert response is not None
        assert response.status == 404
        assert page.get_attribute("html", "lang") == HTML_LANG[lang]
        styled = page.evaluate(_STYLED)
        assert styled["sheets"] >= 3, f"the theme's styles did not load: {styled}"
        assert not styled["unstyled"], f"styles that did not load: {styled}"
        assert page.locator(".bd-header").is_visible()
        assert icon_loads(page, styled["icon"]), styled["icon"]
        # Chromium's preload scanner asks for the relative addresses of the page's head from
        # the missing page's folder before the page's first script sets the <base>: those
        # answers are never used. Anything else must load.
        folder = page.url.rsplit("/", 1)[0] + "/"
        assert not [f for f in failed if folder not in f], failed
        assert not axe_violations(page, axe_script)
        switch = page.locator("a.pttour-language-switcher").locator("visible=true").first
        assert switch.evaluate("a => a.href").startswith(
            f"{origin}{prefix}{other_language(lang)}/index.html"
        )
        skip = page.locator("#pst-skip-link a").evaluate("a => a.href")
        assert skip.startswith(page.url.split("#")[0]), f"the skip link leaves the page: {skip}"
        page.get_by_role("link", name=re.compile("home page|首页")).first.click()
        page.wait_for_url(f"{origin}{prefix}{lang}/index.html")
    finally:
        context.close()


def test_every_kind_of_page_shows_the_favicon(page: Page) -> None:
    for path in ("index.html#choose", f"en/{GALLERY}/{TUTORIALS[0]}.html", "zh_CN/search.html"):
        page.goto(path)
        href = page.evaluate("() => document.querySelector('link[rel=\"icon\"]')?.href ?? null")
        assert icon_loads(page, href), f"{path}: no favicon ({href})"


# -- axe-core, WCAG 2.2 included, on what this module adds ---------------------------------------


@pytest.fixture(scope="session")
def axe_script() -> str:
    pytest.importorskip(
        "axe_playwright_python", reason="axe-playwright-python is not installed; use nox -s browser"
    )
    return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text("utf-8")


def axe_violations(page: Page, axe_script: str, tags: list[str] = AXE_TAGS) -> list[str]:
    """What axe-core finds on the page as it is now, one line per rule and element."""
    page.evaluate(axe_script)
    violations = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                      resultTypes: ['violations']})
                 .then(result => result.violations.map(v =>
                   v.id + ': ' + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', ')))""",
        tags,
    )
    return violations
