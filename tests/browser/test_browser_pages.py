"""What a reader does with the site in a browser: arrive, switch language, copy, change mode.

Each test drives Chromium over the site served on 127.0.0.1 (fixtures in ``conftest.py``) and
proves one behaviour that needs a browser, once. What every page shows is checked on each
visit (``test_visits.py``); the static structure of the pages (every switcher's address,
every link and download) without a browser in ``tests/test_docs_site.py`` and
``tests/test_docs_links.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from ._site import (
    GALLERY,
    HTML_LANG,
    LANGUAGES,
    SITE,
    other_language,
    showcase_tutorial,
    tutorial_file,
    tutorials,
)
from .conftest import watch_for_errors

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

TUTORIALS = tutorials()
SHOWCASE = showcase_tutorial()


# -- the root page chooses the language ----------------------------------------------------------


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh_CN"), ("en-US", "en"), ("fr-FR", "en")])
def test_root_page_sends_the_browser_to_its_language(
    new_context: Callable[..., BrowserContext], locale: str, lang: str
) -> None:
    page = new_context(locale=locale).new_page()
    problems = watch_for_errors(page)
    page.goto("index.html")
    page.wait_for_url(f"**/{lang}/index.html")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    assert not problems, problems


# -- the switcher: where each page's switcher points is checked statically -----------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_switcher_lands_on_the_same_tutorial_in_the_other_language(
    page: Page, site_url: str, lang: str
) -> None:
    assert SHOWCASE, "no tutorial was built"
    other = other_language(lang)
    page.goto(f"{lang}/{GALLERY}/{SHOWCASE}.html", wait_until="domcontentloaded")
    page.locator("a.pttour-language-switcher").locator("visible=true").first.click()
    page.wait_for_url(f"{site_url}{other}/{GALLERY}/{SHOWCASE}.html", wait_until="domcontentloaded")
    assert page.get_attribute("html", "lang") == HTML_LANG[other]
    assert page.locator("h1").first.inner_text().strip(), "the other language's page has no title"


# -- light and dark: every visit checks the mode it asked for; this is the reader's button ----------

_LUMINANCE = """() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""


def test_theme_switcher_turns_the_page_dark(new_context: Callable[..., BrowserContext]) -> None:
    context = new_context(locale="en-US", color_scheme="light")
    context.add_init_script("localStorage.setItem('mode', 'light')")
    page = context.new_page()
    page.goto(f"en/{GALLERY}/{SHOWCASE}.html")
    assert page.get_attribute("html", "data-theme") == "light"
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    light_luminance = page.evaluate(_LUMINANCE)
    page.locator(".theme-switch-button").locator("visible=true").first.click()
    page.locator(".theme-change-button[data-mode='dark']").locator("visible=true").first.click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.wait_for_function(
        "light => getComputedStyle(document.body).backgroundColor !== light", arg=light
    )
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert page.evaluate(_LUMINANCE) < light_luminance, f"dark {dark} is not darker than {light}"


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
    (script,) = (SITE / "en" / "_downloads").rglob(f"{name}.py")
    script_lines = set(script.read_text(encoding="utf-8").splitlines())
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
