"""Every page as phone and screen-reader users meet it: reflow, axe-core, contrast, copy buttons.

- Reflow (WCAG 1.4.10): no page scrolls sideways at 320 px or 390 px; code may scroll inside
  its own box. The language switcher and "On this page" stay in the phone header.
- axe-core (bundled by ``axe-playwright-python``, no network): no violation of any impact
  against WCAG 2.0/2.1 A and AA, on every page of both languages plus the root chooser and the
  search results, light and dark, at 390 px and 1,400 px. Every rule runs at both widths, with
  one saving: the colours of the article's text and code do not depend on the width, so at
  390 px the contrast rule (most of axe's time on a long page) measures only what the phone
  layout changes, the header, sidebars and footers, and leaves the article to the 1,400 px run
  of the same page in the same mode.
- Contrast that axe does not measure (a pseudo-element's text) or that the issue named: the
  output label, the search highlight and the download buttons, >= 4.5:1 in both modes.
"""

from __future__ import annotations

import importlib.resources
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from ._site import GALLERY, LANGUAGES, REPORTS, pages, tutorial_file, tutorials

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

TUTORIALS = tutorials()
PHONE, DESKTOP, NARROWEST = 390, 1400, 320
MODES = ("light", "dark")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MIN_CONTRAST = 4.5
SEARCHES = {"en": "tensor", "zh_CN": "张量"}

PAGES = [
    "index.html#choose",  # the root language chooser ("#choose" keeps it from redirecting)
    *pages("en"),
    *pages("zh_CN"),
    *(f"{lang}/search.html?q={quote(query)}" for lang, query in SEARCHES.items()),
]


def page_kind(path: str) -> str:
    """The row of the axe summary a page belongs to."""
    name = path.split("?")[0].split("#")[0]
    if "/" not in name:
        return "root chooser"
    lang, _, rest = name.partition("/")
    if rest.startswith(f"{GALLERY}/plot_"):
        kind = "tutorial"
    elif rest == f"{GALLERY}/index.html":
        kind = "tutorials index"
    elif rest == "search.html":
        kind = "search results" if "?" in path else "search"
    else:
        kind = rest.removesuffix(".html")
    return f"{kind} ({lang})"


def _wait_for_search(page: Page) -> None:
    if "search.html?" in page.url:
        page.wait_for_function(
            "() => document.querySelector('#search-results .search-summary')?.textContent.trim()"
        )


@pytest.fixture(scope="session")
def axe_script() -> str:
    pytest.importorskip(
        "axe_playwright_python", reason="axe-playwright-python is not installed; use nox -s browser"
    )
    return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text("utf-8")


@pytest.fixture(scope="session")
def mode_contexts(browser: Browser, site_url: str) -> Iterator[dict[str, BrowserContext]]:
    """One context per colour mode; the theme reads the mode from localStorage before it paints."""
    contexts = {}
    for mode in MODES:
        context = browser.new_context(base_url=site_url, locale="en-US", color_scheme=mode)
        context.set_default_timeout(30_000)
        context.add_init_script(f"try {{ localStorage.setItem('mode', '{mode}'); }} catch (e) {{}}")
        contexts[mode] = context
    yield contexts
    for context in contexts.values():
        context.close()


# -- reflow ------------------------------------------------------------------------------------

_OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 1)
    .filter(e => !e.closest('pre, .highlight, .table-wrapper, .bd-sidebar-primary, .bd-sidebar-secondary, .pst-scrollable-table-container'))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""
_IN_VIEW = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null)
  .map(e => { const r = e.getBoundingClientRect();
              return r.left >= 0 && r.right <= document.documentElement.clientWidth; })"""


@pytest.mark.parametrize("path", PAGES)
def test_page_reflows_on_a_phone(page: Page, path: str) -> None:
    page.goto(path)
    for width in (NARROWEST, PHONE):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)  # let the layout settle
        found = page.evaluate(_OVERFLOW)
        assert found["scroll"] <= found["client"], (
            f"{path} at {width} px is {found['scroll']} px wide; wider: {found['wide']}"
        )
        if "/" not in path.split("#")[0]:
            continue  # the root chooser has no site header
        switchers = page.evaluate(_IN_VIEW, ".bd-header a.pttour-language-switcher")
        assert switchers == [True], f"{path} at {width} px: the header's switcher is not on screen"
        toc = page.evaluate(_IN_VIEW, ".bd-header button.secondary-toggle")
        assert all(toc), f"{path} at {width} px: the 'On this page' button is off screen"


# -- axe-core ----------------------------------------------------------------------------------

_AXE_SUMMARY: dict[str, dict[str, float]] = {}  # page kind -> runs, violations, seconds
# Starts axe without waiting for it, so the four runs of a page (two modes, two widths) go on
# side by side in four tabs, on as many cores as there are. At the phone width the contrast of
# code blocks is left to the desktop run (see the module's docstring); every rule runs.
_START_AXE = """([tags, phone]) => {
  window.__axe = null;
  const options = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
  const run = (context, rules) => axe.run(context, {...options, rules});
  // one run at a time in a page: axe refuses a second while the first goes on
  const contrastOnly = Object.fromEntries(axe.getRules(tags)
    .filter(r => r.ruleId !== 'color-contrast').map(r => [r.ruleId, {enabled: false}]));
  const chrome = ['.bd-header', '.bd-sidebar-primary', '.bd-sidebar-secondary', '.bd-footer',
    '.bd-header-article', '.bd-footer-article', '.prev-next-area', '.bd-footer-content']
    .filter(selector => document.querySelector(selector)).map(selector => [selector]);
  const runs = phone
    ? run(document, {'color-contrast': {enabled: false}}).then(first =>
        (chrome.length ? run({include: chrome}, contrastOnly) : Promise.resolve({violations: []}))
          .then(second => [first, second]))
    : run(document, {}).then(only => [only]);
  runs.then(results => { window.__axe = results.flatMap(r => r.violations).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)
  })); }, error => { window.__axe = [{id: 'axe-error', impact: 'error', help: String(error), nodes: []}]; });
}"""


_THEME = """() => document.documentElement.dataset.theme
  || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')"""


@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_axe_violations(
    mode_contexts: dict[str, BrowserContext], axe_script: str, path: str
) -> None:
    started = time.monotonic()
    runs = []
    try:
        for mode, context in mode_contexts.items():
            for width in (DESKTOP, PHONE):
                page = context.new_page()
                runs.append((mode, width, page))
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(path)
                _wait_for_search(page)
                theme = page.evaluate(_THEME)
                assert theme == mode, f"{path}: the page is {theme}, not {mode}"
                page.evaluate(axe_script)
                page.evaluate(_START_AXE, [AXE_TAGS, width == PHONE])
        problems, count = [], 0
        for mode, width, page in runs:
            page.wait_for_function("() => window.__axe !== null", timeout=300_000)
            violations = page.evaluate("window.__axe")
            count += sum(max(len(v["nodes"]), 1) for v in violations)
            problems += [
                f"[{mode}, {width} px] {v['id']} ({v['impact']}): {v['help']}\n    "
                + "\n    ".join(v["nodes"])
                for v in violations
            ]
    finally:
        for *_, page in runs:
            page.close()
    row = _AXE_SUMMARY.setdefault(page_kind(path), {"runs": 0, "violations": 0, "seconds": 0.0})
    row["runs"] += len(runs)
    row["violations"] += count
    row["seconds"] += time.monotonic() - started
    assert not problems, f"{path}:\n" + "\n".join(problems)


@pytest.fixture(scope="module", autouse=True)
def _axe_report() -> Iterator[None]:
    """Hand the axe counts per kind of page to the run's summary (conftest prints it)."""
    yield
    if _AXE_SUMMARY:
        REPORTS["axe-core violations (light + dark, 390 + 1400 px)"] = [
            ["page", "axe runs", "violations", "seconds"],
            *(
                [kind, f"{row['runs']:.0f}", f"{row['violations']:.0f}", f"{row['seconds']:.1f}"]
                for kind, row in sorted(_AXE_SUMMARY.items())
            ),
        ]


# -- contrast axe does not measure -------------------------------------------------------------

_CONTRAST = """([selector, pseudo]) => {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = e => {
    for (; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.backgroundImage !== 'none') return null;  // a gradient or image: not measurable
      const c = parse(style.backgroundColor);
      if (c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  };
  return [...document.querySelectorAll(selector)].filter(e => e.offsetParent !== null).slice(0, 20)
    .map(e => {
      const fg = parse(getComputedStyle(e, pseudo).color), bg = background(e);
      if (bg === null) return {text: e.textContent.slice(0, 40), ratio: 0};
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      return {text: (pseudo ? getComputedStyle(e, pseudo).content : e.textContent).slice(0, 40),
              ratio: (a + 0.05) / (b + 0.05)};
    });
}"""


def _showcase() -> str:
    """A tutorial with a code output, the page every tutorial's output label looks like."""
    for name in TUTORIALS:
        if "sphx-glr-script-out" in tutorial_file("en", name).read_text(encoding="utf-8"):
            return name
    pytest.fail("no tutorial shows an output")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_output_label_search_highlight_and_downloads_are_legible(
    mode_contexts: dict[str, BrowserContext], mode: str, lang: str
) -> None:
    page = mode_contexts[mode].new_page()
    checks = []
    page.goto(f"{lang}/{GALLERY}/{_showcase()}.html")
    checks.append(("output label", page.evaluate(_CONTRAST, [".sphx-glr-script-out", "::before"])))
    checks.append(("download button", page.evaluate(_CONTRAST, ["div.sphx-glr-download a", ""])))
    page.goto(f"{lang}/search.html?q={quote(SEARCHES[lang])}")
    _wait_for_search(page)
    checks.append(("search highlight", page.evaluate(_CONTRAST, ["span.highlighted", ""])))
    page.close()
    for what, found in checks:
        assert found, f"{lang} {mode}: no {what} on the page to measure"
        low = [
            f"{item['text']!r}: {item['ratio']:.2f}"
            for item in found
            if item["ratio"] < MIN_CONTRAST
        ]
        assert not low, f"{lang} {mode}: {what} below {MIN_CONTRAST}:1: {low}"


# -- copy buttons ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_copy_buttons_sit_on_code_cells_only(page: Page, lang: str) -> None:
    page.goto(f"{lang}/{GALLERY}/{_showcase()}.html")
    page.wait_for_selector("button.copybtn", state="attached")
    on_outputs = page.locator(".sphx-glr-script-out button.copybtn").count()
    code_cells = page.locator("div.highlight-Python:not(.sphx-glr-script-out)")
    without = [
        i
        for i in range(code_cells.count())
        if code_cells.nth(i).locator("button.copybtn").count() != 1
    ]
    assert on_outputs == 0, f"{on_outputs} copy buttons on outputs"
    assert not without, f"code cells {without} have no copy button"


# -- what a phone shows: screenshots for a person to look at -------------------------------------


@pytest.mark.parametrize(
    "path",
    ["zh_CN/index.html", f"zh_CN/{GALLERY}/{{tutorial}}.html", "en/api.html"],
    ids=["zh_CN-home", "zh_CN-tutorial", "en-api"],
)
@pytest.mark.parametrize("mode", MODES)
def test_phone_screenshot(
    new_context: Callable[..., BrowserContext], artifacts: Path, path: str, mode: str
) -> None:
    path = path.format(tutorial=_showcase())
    context = new_context(
        locale="en-US", viewport={"width": PHONE, "height": 844}, color_scheme=mode
    )
    context.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    page = context.new_page()
    page.goto(path, wait_until="networkidle")
    name = path.removesuffix(".html").replace("/", "-")
    page.screenshot(path=artifacts / f"phone-{name}-{mode}.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
