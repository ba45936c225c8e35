"""What a reader does with the site in a browser: arrive, switch language, search, copy, read.

Each test drives Chromium over the site served on 127.0.0.1 (fixtures in ``conftest.py``).
The static structure of the pages is checked without a browser in ``tests/test_docs_site.py``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import pytest

from ._site import (
    GALLERY,
    HTML_LANG,
    LANGUAGES,
    downloads,
    other_language,
    pages,
    tutorial_file,
    tutorials,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Request, Response

TUTORIALS = tutorials()
MAX_PAGE_BYTES = 1_500_000  # a first visit to a tutorial page, everything included
SEARCH_TIMEOUT_S = 15


def _showcase_tutorial() -> str | None:
    """The first tutorial that draws a figure (dark mode must suit figures too), else the first."""
    for name in TUTORIALS:
        if "sphx-glr-single-img" in tutorial_file("en", name).read_text(encoding="utf-8"):
            return name
    return TUTORIALS[0] if TUTORIALS else None


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


# -- the root page chooses the language ----------------------------------------------------------


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh_CN"), ("en-US", "en"), ("fr-FR", "en")])
def test_root_page_sends_the_browser_to_its_language(
    new_context: Callable[..., BrowserContext], locale: str, lang: str
) -> None:
    page = new_context(locale=locale).new_page()
    page.goto("index.html")
    page.wait_for_url(f"**/{lang}/index.html")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]


def test_root_page_shows_links_to_both_languages(page: Page) -> None:
    page.goto("index.html#choose")  # "#choose" keeps the reader on the chooser
    for lang, label in (("en", "English"), ("zh_CN", "简体中文")):
        link = page.get_by_role("link", name=label, exact=True)
        assert link.is_visible(), f"no visible link {label!r} on the root page"
        link.click()
        page.wait_for_url(f"**/{lang}/index.html")
        assert page.get_attribute("html", "lang") == HTML_LANG[lang]
        page.go_back()
        page.wait_for_url("**/index.html#choose")


# -- the switcher ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_switcher_lands_on_the_same_tutorial_in_the_other_language(
    page: Page, site_url: str, lang: str, name: str
) -> None:
    other = other_language(lang)
    page.goto(f"{lang}/{GALLERY}/{name}.html", wait_until="domcontentloaded")
    page.locator("a.pttour-language-switcher").locator("visible=true").first.click()
    page.wait_for_url(f"{site_url}{other}/{GALLERY}/{name}.html", wait_until="domcontentloaded")
    assert page.get_attribute("html", "lang") == HTML_LANG[other]
    assert page.locator("h1").first.inner_text().strip(), "the other language's page has no title"


# -- search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "query", "topic"),
    [
        ("en", "tensor", "tensors"),
        ("zh_CN", "张量", "tensors"),
        ("en", "gradient", "gradients_by_hand"),
        ("zh_CN", "梯度", "gradients_by_hand"),
    ],
)
def test_search_lists_the_tutorial(page: Page, lang: str, query: str, topic: str) -> None:
    problems = watch_for_errors(page)
    page.goto(f"{lang}/search.html?q={quote(query)}")
    finished = "() => document.querySelector('#search-results .search-summary')?.textContent.trim()"
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    while not page.evaluate(finished):
        if any(problem.startswith("uncaught") for problem in problems):
            deadline = min(deadline, time.monotonic() + 1)  # a crashed search never ends
        if time.monotonic() > deadline:
            pytest.fail(
                f"the {lang} search for {query!r} never finished; the page said: {problems}"
            )
        page.wait_for_timeout(100)
    hrefs = page.locator("#search-results ul.search li a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    wanted = re.compile(rf"(^|/){GALLERY}/plot_\d+_{topic}\.html")
    assert any(wanted.search(href) for href in hrefs), (
        f"the {lang} search for {query!r} does not list the {topic} tutorial; it lists {hrefs}"
    )


# -- the copy button -------------------------------------------------------------------------------


def _copy(page: Page, block: Locator) -> str:
    """Click the copy button of a code block and return what reached the clipboard."""
    page.evaluate("navigator.clipboard.writeText('')")  # nothing left over from before
    block.hover()
    block.locator("button.copybtn").click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()) !== ''")
    return page.evaluate("navigator.clipboard.readText()")


@pytest.fixture
def clipboard_page(new_context: Callable[..., BrowserContext], site_url: str) -> Page:
    context = new_context(locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    return context.new_page()


def test_copy_button_copies_a_tutorial_cell_without_its_output(clipboard_page: Page) -> None:
    page = clipboard_page
    cell_with_output = "div.highlight-Python:has(+ div.sphx-glr-script-out)"
    name = next(
        (
            n
            for n in TUTORIALS
            if "sphx-glr-script-out" in tutorial_file("en", n).read_text("utf-8")
        ),
        None,
    )
    assert name is not None, "no tutorial shows the output of a code cell"
    page.goto(f"en/{GALLERY}/{name}.html")
    cell = page.locator(cell_with_output).first
    code = cell.locator("pre").inner_text()
    output = page.locator(f"{cell_with_output} + div.sphx-glr-script-out pre").first.inner_text()
    copied = _copy(page, cell)
    assert copied.strip("\n") == code.strip("\n")
    script_lines = set(downloads("en", name)[".py"].read_text(encoding="utf-8").splitlines())
    missing = [line for line in copied.splitlines() if line.strip() and line not in script_lines]
    assert not missing, f"copied lines that are not in {name}.py: {missing}"
    output_lines = {line.strip() for line in output.splitlines() if len(line.strip()) > 3}
    assert not output_lines & {line.strip() for line in copied.splitlines()}


def test_copy_button_copies_a_doctest_without_prompts_or_output(clipboard_page: Page) -> None:
    page = clipboard_page
    page.goto("en/api.html")
    for block in page.locator("div.doctest").all():
        text = block.locator("pre").inner_text()
        lines = text.rstrip("\n").splitlines()
        code = [line[4:] for line in lines if line.startswith((">>> ", "... "))]
        output = [line for line in lines if line.strip() and not line.startswith((">>>", "..."))]
        if code and output:
            break
    else:
        pytest.fail("no doctest block with both code and output on en/api.html")
    copied = _copy(page, block)
    assert copied.rstrip("\n").splitlines() == code
    assert not any(line.startswith((">>>", "...")) for line in copied.splitlines())


# -- no errors anywhere ----------------------------------------------------------------------------

PAGES_TO_OPEN = [
    "index.html",
    *pages("en"),
    *pages("zh_CN"),
    "en/search.html?q=tensor",
    "zh_CN/search.html?q=" + quote("张量"),
]


@pytest.mark.parametrize("path", PAGES_TO_OPEN)
def test_page_logs_no_javascript_error(page: Page, path: str) -> None:
    problems = watch_for_errors(page)
    page.goto(path)
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")  # let queued work run
    assert not problems, f"{path}: {problems}"


# -- light and dark ---------------------------------------------------------------------------------

THEMED_PAGES = [
    "index",
    *(f"{GALLERY}/{name}" for name in [_showcase_tutorial()] if name),
    "errata",
]
_LUMINANCE = """() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", THEMED_PAGES)
def test_page_renders_in_light_and_dark_mode(
    new_context: Callable[..., BrowserContext], artifacts: Path, lang: str, path: str
) -> None:
    context = new_context(locale="en-US", color_scheme="light")
    # The theme reads the reader's choice from localStorage before it paints.
    context.add_init_script("localStorage.setItem('mode', 'light')")
    page = context.new_page()
    page.goto(f"{lang}/{path}.html", wait_until="networkidle")
    assert page.get_attribute("html", "data-theme") == "light"
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    light_luminance = page.evaluate(_LUMINANCE)
    stem = f"{lang}-{path.replace('/', '-')}"
    page.screenshot(path=artifacts / f"{stem}-light.png")

    # Dark through the theme switcher, as a reader does it.
    page.locator(".theme-switch-button").locator("visible=true").first.click()
    page.locator(".theme-change-button[data-mode='dark']").locator("visible=true").first.click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.wait_for_function(
        "light => getComputedStyle(document.body).backgroundColor !== light", arg=light
    )
    page.mouse.move(0, 0)  # no open menu or hover in the picture
    page.keyboard.press("Escape")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark_luminance = page.evaluate(_LUMINANCE)
    page.screenshot(path=artifacts / f"{stem}-dark.png")
    assert dark != light
    assert dark_luminance < light_luminance, f"dark {dark} is not darker than light {light}"


# -- page weight -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_page_weight(
    page: Page,
    page_weights: dict[tuple[str, str], dict[str, int]],
    lang: str,
    name: str,
) -> None:
    # With the cache off, this is what a first visit downloads.
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(f"{lang}/{GALLERY}/{name}.html", wait_until="networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images, if any
    page.wait_for_load_state("networkidle")
    by_kind: dict[str, int] = {}
    for request in finished:
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        by_kind[request.resource_type] = by_kind.get(request.resource_type, 0) + size
    page_weights[(name, lang)] = by_kind
    total = sum(by_kind.values())
    assert by_kind.get("document", 0) > 0, "the page itself was not counted"
    assert total < MAX_PAGE_BYTES, f"{lang}/{name} transfers {total} bytes: {by_kind}"
