"""Every page as readers meet it, one visit per page, viewport and colour mode.

Each page of the site (both languages, the root chooser, a search-results page per language)
is loaded at 1,400 px in light and in dark, and at 390 px (a phone) in light; every check
below runs on those loads (``visit`` in ``conftest.py``), so a page is loaded three times, not
once per check. A check is a function of the visit, parametrized with the visits it applies to.

- axe-core (bundled by ``axe-playwright-python``, no network), against WCAG 2.0/2.1/2.2 A, AA:
  every rule at 1,400 px in each colour mode; at 390 px the rules the phone layout can change
  (all but the contrast of the article, which no width changes), and the contrast of the page
  chrome the phone layout rearranges (header, sidebars, footers). Contrast is measured on the
  English pages and the root chooser: the Chinese pages are the same templates with the same
  stylesheet, so their colours are the English ones.
- reflow (WCAG 1.4.10): no page scrolls sideways at 390 px or 320 px; code may scroll in its
  box; the language switcher and "On this page" stay in the phone header.
- no JavaScript error, no failed request; the page is in the colour mode the reader chose.
- contrast axe does not measure (a pseudo-element's text), and what a past issue named: the
  output label, the download buttons and the search highlight, >= 4.5:1 in both modes.
- the tutorials: code blocks fit their column at 1,400 px; the share of outputs that scroll
  sideways; copy buttons on code cells only; the weight of a first visit.
"""

from __future__ import annotations

import importlib.resources
import time
from pathlib import Path

import pytest

from ._site import (
    GALLERY,
    LANGUAGES,
    MODES,
    PAGES,
    REPORTS,
    showcase_tutorial,
    visits,
)
from .conftest import ON_LOAD, LoadedVisit, for_visits, run_last
from .test_reader_actions import clipped_texts

SHOWCASE = showcase_tutorial()
TUTORIAL_PAGES = [path for path in PAGES if f"/{GALLERY}/plot_" in path]
SEARCH_RESULTS = [path for path in PAGES if "search.html?" in path]
# Pictures for a person to look at: a few pages in both modes, at both widths.
DESKTOP_PICTURES = [
    f"{lang}/{page}.html"
    for lang in LANGUAGES
    for page in ("index", *([f"{GALLERY}/{SHOWCASE}"] if SHOWCASE else []), "errata")
]
PHONE_PICTURES = [
    "zh_CN/index.html",
    *([f"zh_CN/{GALLERY}/{SHOWCASE}.html"] if SHOWCASE else []),
    "en/api.html",
]

DESKTOP_VISITS = visits(("desktop",), MODES, PAGES)
PHONE_VISITS = visits(("phone",), ("light",), PAGES)
TUTORIAL_VISITS = visits(("desktop",), ("light",), TUTORIAL_PAGES)

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_CONTRAST = 4.5
MAX_PAGE_BYTES = 1_500_000  # a first visit to a tutorial page, everything included
NARROWEST = 320  # px: WCAG 1.4.10's reflow width, checked on the phone visit
WHOLE_TEXT_WIDTH = 360  # px: a small phone; every heading and button shows its whole text
# Output blocks that scroll sideways at 1,400 px, as a share of all the tutorials' outputs.
MAX_SIDEWAYS_OUTPUT_SHARE = 0.05


def _contrast_measured(visit: LoadedVisit) -> bool:
    """Whether axe measures contrast on this page (see the module's docstring)."""
    return visit.spec.lang != "zh_CN"


# -- axe-core --------------------------------------------------------------------------------------

_AXE_SUMMARY: dict[str, dict[str, float]] = {}  # page kind -> runs, violations, seconds
# Started when the visit's tab has loaded (ON_LOAD), so that the tabs of a page compute side by
# side; the result waits in window.__pttour_axe for the check.
_START_AXE = """([tags, phone, contrast]) => {
  window.__pttour_axe = undefined;
  const options = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
  const run = (context, rules) => axe.run(context, {...options, rules});
  const noContrast = {'color-contrast': {enabled: false}};
  const contrastOnly = Object.fromEntries(axe.getRules(tags)
    .filter(r => r.ruleId !== 'color-contrast').map(r => [r.ruleId, {enabled: false}]));
  const chrome = ['.bd-header', '.bd-sidebar-primary', '.bd-sidebar-secondary', '.bd-footer',
    '.bd-header-article', '.bd-footer-article', '.prev-next-area', '.bd-footer-content']
    .filter(selector => document.querySelector(selector)).map(selector => [selector]);
  (async () => {
    // one run at a time in a page: axe refuses a second while the first goes on
    const results = [await run(document, phone || !contrast ? noContrast : {})];
    if (phone && contrast && chrome.length) results.push(await run({include: chrome}, contrastOnly));
    return results.flatMap(r => r.violations).map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)
    }));
  })().then(found => { window.__pttour_axe = found; },
            error => { window.__pttour_axe = [{id: 'axe-error', impact: 'error',
                                               help: String(error), nodes: []}]; });
}"""
_AXE_DONE = "() => window.__pttour_axe !== undefined"


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


def _axe_script() -> str:
    pytest.importorskip(
        "axe_playwright_python", reason="axe-playwright-python is not installed; use nox -s browser"
    )
    return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text("utf-8")


def start_axe(visit: LoadedVisit) -> str:
    """Start axe in the visit's tab; return what says it is done."""
    visit.notes["axe started"] = time.monotonic()
    visit.page.evaluate(_axe_script())
    phone = visit.spec.viewport == "phone"
    visit.page.evaluate(_START_AXE, [AXE_TAGS, phone, _contrast_measured(visit)])
    return _AXE_DONE


ON_LOAD["test_axe_finds_no_violation"] = start_axe


@for_visits(DESKTOP_VISITS + PHONE_VISITS)
def test_axe_finds_no_violation(visit: LoadedVisit) -> None:
    if "axe started" not in visit.notes:
        start_axe(visit)
    started = visit.notes["axe started"]
    visit.page.wait_for_function(_AXE_DONE, timeout=300_000)
    violations = visit.page.evaluate("window.__pttour_axe")
    row = _AXE_SUMMARY.setdefault(
        page_kind(visit.spec.path), {"runs": 0, "violations": 0, "seconds": 0.0}
    )
    row["runs"] += 1
    row["violations"] += sum(max(len(v["nodes"]), 1) for v in violations)
    row["seconds"] += time.monotonic() - started  # from its start, so side by side with others
    REPORTS["axe-core violations (1400 px light + dark, 390 px light)"] = [
        ["page", "axe runs", "violations", "seconds"],
        *(
            [kind, f"{r['runs']:.0f}", f"{r['violations']:.0f}", f"{r['seconds']:.1f}"]
            for kind, r in sorted(_AXE_SUMMARY.items())
        ),
    ]
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    ]
    assert not problems, f"{visit.spec}:\n" + "\n".join(problems)


# -- what every load shows ---------------------------------------------------------------------


@for_visits(DESKTOP_VISITS + PHONE_VISITS)
def test_page_logs_no_javascript_error(visit: LoadedVisit) -> None:
    assert not visit.problems, f"{visit.spec}: {visit.problems}"


_THEME = """() => document.documentElement.dataset.theme
  || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')"""
_LUMINANCE = """() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""
_LIGHT_LUMINANCE: dict[str, float] = {}  # path -> the light visit's body luminance


@for_visits(DESKTOP_VISITS)
def test_page_is_in_the_readers_colour_mode(visit: LoadedVisit) -> None:
    theme = visit.page.evaluate(_THEME)
    assert theme == visit.spec.mode, f"{visit.spec}: the page is {theme}"
    luminance = visit.page.evaluate(_LUMINANCE)
    if visit.spec.mode == "light":
        _LIGHT_LUMINANCE[visit.spec.path] = luminance
        return
    light = _LIGHT_LUMINANCE.get(visit.spec.path, 128)  # mid-grey when run alone
    assert luminance < light, f"{visit.spec}: dark ({luminance:.0f}) is not darker ({light:.0f})"


@for_visits(visits(("desktop",), MODES, DESKTOP_PICTURES))
def test_desktop_screenshot(visit: LoadedVisit, artifacts: Path) -> None:
    """Not a check: pictures of both modes for a person to look at."""
    visit.page.mouse.move(0, 0)  # no hover in the picture
    name = visit.spec.file.removesuffix(".html").replace("/", "-")
    visit.page.screenshot(path=artifacts / f"{name}-{visit.spec.mode}.png")


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


def _assert_legible(visit: LoadedVisit, what: str, selector: str, pseudo: str = "") -> None:
    found = visit.page.evaluate(_CONTRAST, [selector, pseudo])
    assert found, f"{visit.spec}: no {what} on the page to measure"
    low = [
        f"{item['text']!r}: {item['ratio']:.2f}" for item in found if item["ratio"] < MIN_CONTRAST
    ]
    assert not low, f"{visit.spec}: {what} below {MIN_CONTRAST}:1: {low}"


@for_visits(visits(("desktop",), MODES, TUTORIAL_PAGES))
def test_output_label_and_download_buttons_are_legible(visit: LoadedVisit) -> None:
    if visit.page.locator(".sphx-glr-script-out:visible").count():
        _assert_legible(visit, "output label", ".sphx-glr-script-out", "::before")
    _assert_legible(visit, "download button", "div.sphx-glr-download a")


@for_visits(visits(("desktop",), MODES, SEARCH_RESULTS))
def test_search_highlight_is_legible(visit: LoadedVisit) -> None:
    _assert_legible(visit, "search highlight", "span.highlighted")


# -- the phone -------------------------------------------------------------------------------------

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


@for_visits(PHONE_VISITS)
def test_page_reflows_on_a_phone(visit: LoadedVisit) -> None:
    visit.wait_idle()  # axe measures the 390 px layout first
    page, path = visit.page, visit.spec.path
    size = page.viewport_size
    try:
        for width in (visit.spec.width, NARROWEST):
            page.set_viewport_size({"width": width, "height": size["height"]})
            page.wait_for_timeout(50)  # let the layout settle
            found = page.evaluate(_OVERFLOW)
            assert found["scroll"] <= found["client"], (
                f"{path} at {width} px is {found['scroll']} px wide; wider: {found['wide']}"
            )
            if visit.spec.lang is None:
                continue  # the root chooser has no site header
            switchers = page.evaluate(_IN_VIEW, ".bd-header a.pttour-language-switcher")
            assert switchers == [True], f"{path} at {width} px: the header's switcher is off screen"
            toc = page.evaluate(_IN_VIEW, ".bd-header button.secondary-toggle")
            assert all(toc), f"{path} at {width} px: the 'On this page' button is off screen"
    finally:
        page.set_viewport_size(size)


@for_visits(PHONE_VISITS)
def test_whole_texts_show_at_360_px(visit: LoadedVisit) -> None:
    """Headings, prev/next links, card titles and buttons wrap: none is cut at 360 px."""
    visit.wait_idle()
    page, size = visit.page, visit.page.viewport_size
    try:
        page.set_viewport_size({"width": WHOLE_TEXT_WIDTH, "height": size["height"]})
        page.wait_for_timeout(50)  # let the layout settle
        clipped = clipped_texts(page)
        assert not clipped, f"{visit.spec.path} at {WHOLE_TEXT_WIDTH} px: {clipped}"
    finally:
        page.set_viewport_size(size)


@for_visits(visits(("phone",), MODES, PHONE_PICTURES))
def test_phone_screenshot(visit: LoadedVisit, artifacts: Path) -> None:
    """Pictures of the phone layout in both modes, for a person to look at; no sideways scroll."""
    name = visit.spec.file.removesuffix(".html").replace("/", "-")
    visit.page.screenshot(path=artifacts / f"phone-{name}-{visit.spec.mode}.png")
    assert visit.page.evaluate("document.documentElement.scrollWidth") <= visit.spec.width


# -- the tutorials ---------------------------------------------------------------------------------


@for_visits(TUTORIAL_VISITS)
def test_copy_buttons_sit_on_code_cells_only(visit: LoadedVisit) -> None:
    page = visit.page
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


_PAGE_WEIGHTS: dict[tuple[str, str], dict[str, int]] = {}  # (tutorial, lang) -> bytes by kind


@for_visits(TUTORIAL_VISITS)
def test_tutorial_page_weight(visit: LoadedVisit) -> None:
    """What a first visit downloads (the desktop-light visit loads with the cache off)."""
    visit.wait_idle()
    page = visit.page
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images, if any
    page.wait_for_load_state("networkidle")
    by_kind: dict[str, int] = {}
    for request in visit.requests:
        if request.resource_type in {"xhr", "fetch"} and request.url.split("?")[0].endswith(".css"):
            continue  # axe reading the stylesheets again, not the page
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        by_kind[request.resource_type] = by_kind.get(request.resource_type, 0) + size
    _PAGE_WEIGHTS[(visit.spec.tutorial or "", visit.spec.lang or "")] = by_kind
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
    total = sum(by_kind.values())
    assert by_kind.get("document", 0) > 0, "the page itself was not counted"
    assert total < MAX_PAGE_BYTES, f"{visit.spec}: {total} bytes: {by_kind}"


_SIDEWAYS = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null)
  .map(e => ({wide: e.scrollWidth > e.clientWidth, scroll: e.scrollWidth, client: e.clientWidth,
              text: e.textContent.split('\\n').find(line => line.length > 0) || ''}))"""
# Code of the lesson (code cells and code blocks in the prose), not what it printed.
CODE_BLOCKS = "div.highlight pre:not(.sphx-glr-script-out pre)"
OUTPUT_BLOCKS = ".sphx-glr-script-out pre"
_OUTPUTS: dict[str, tuple[int, int]] = {}  # page -> (outputs, outputs that scroll sideways)


@for_visits(TUTORIAL_VISITS)
def test_code_blocks_fit_their_column(visit: LoadedVisit) -> None:
    """At 1,400 px no code block scrolls sideways (solutions opened): code is 79 columns."""
    visit.open_solutions()
    blocks = visit.page.evaluate(_SIDEWAYS, CODE_BLOCKS)
    assert blocks, f"{visit.spec}: no code block"
    wide = [f"{b['text'][:60]!r} ({b['scroll']} > {b['client']} px)" for b in blocks if b["wide"]]
    assert not wide, f"{visit.spec}: {len(wide)} code blocks scroll sideways:\n" + "\n".join(wide)


@for_visits(TUTORIAL_VISITS)
def test_count_output_blocks_that_scroll_sideways(visit: LoadedVisit) -> None:
    """Counted here, judged once for the whole site (below)."""
    visit.open_solutions()
    outputs = visit.page.evaluate(_SIDEWAYS, OUTPUT_BLOCKS)
    _OUTPUTS[visit.spec.path] = (len(outputs), sum(o["wide"] for o in outputs))


@run_last
def test_share_of_output_blocks_that_scroll_sideways() -> None:
    if not _OUTPUTS:
        pytest.skip("no tutorial was visited in this run")
    total = sum(count for count, _ in _OUTPUTS.values())
    wide = sum(wide for _, wide in _OUTPUTS.values())
    share = wide / total if total else 0.0
    REPORTS["outputs that scroll sideways at 1400 px"] = [
        ["page", "outputs", "scroll sideways"],
        *([path, str(count), str(n)] for path, (count, n) in sorted(_OUTPUTS.items()) if n),
        [
            "all tutorials",
            str(total),
            f"{wide} ({share:.1%}; at most {MAX_SIDEWAYS_OUTPUT_SHARE:.0%})",
        ],
    ]
    assert share <= MAX_SIDEWAYS_OUTPUT_SHARE, (
        f"{wide} of {total} outputs ({share:.1%}) scroll sideways at 1,400 px"
    )
