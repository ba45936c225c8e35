"""Search as readers type it: Chinese without spaces, and tutorials first for topic words.

Each case says which page a reader expects: "the page whose title contains X (in any case) is in
the top N", so a renamed or split page still passes as long as its title still names its topic;
some cases also name the tutorial (``plot_NN_<topic>``) that must be among the results. The
ranks of every query go into the run's summary.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from ._site import GALLERY, REPORTS

if TYPE_CHECKING:
    from playwright.sync_api import Page

SEARCH_TIMEOUT_S = 15
# (language, query, what the expected page's title contains (any of), it must rank at most,
#  and the topic of a tutorial that must be listed, if any)
CASES: list[tuple] = [
    # typed without spaces: the query is split the way jieba split the index
    ("zh_CN", "梯度清零", ("训练",), 3),
    ("zh_CN", "张量形状", ("张量",), 3),
    ("zh_CN", "数据加载", ("加载数据", "数据加载"), 3),
    ("zh_CN", "清空梯度", ("训练",), 3),
    ("zh_CN", "检查点", ("检查点",), 1),
    ("zh_CN", "张量 形状", ("张量",), 3),
    ("zh_CN", "混合精度", ("混合精度",), 1),
    ("zh_CN", "梯度检查", ("检查梯度", "gradcheck"), 2),
    ("zh_CN", "分布式训练", ("分布式",), 3),
    ("zh_CN", "自定义求导函数", ("自定义",), 3),
    ("zh_CN", "张量", ("张量",), 1, "tensors"),
    ("zh_CN", "梯度", ("梯度",), 3, "gradients_by_hand"),
    ("zh_CN", "DataLoader", ("加载数据", "数据加载"), 3),
    # tutorials above API objects for topic words
    ("en", "checkpoint", ("checkpoint",), 1),
    ("en", "tensor", ("Tensor",), 1, "tensors"),
    ("en", "gradient", ("gradient",), 3, "gradients_by_hand"),
    ("en", "loading data", ("Loading data", "Data loading"), 1),
    ("en", "mixed precision", ("Mixed precision",), 1),
    ("en", "zero_grad", ("training",), 3),
    ("en", "weights_only", ("checkpoint",), 3),
    # the words of the lessons, in both languages: the page that teaches them
    ("en", "backpropagation", ("training",), 3, "autograd_training"),
    ("en", "learning rate", ("training",), 3, "autograd_training"),
    ("zh_CN", "反向传播", ("训练",), 3, "autograd_training"),
    ("zh_CN", "学习率", ("训练",), 3, "autograd_training"),
    ("zh_CN", "梯度消失", ("nn.Module",), 3, "modules"),
]
_RANKS: list[list[str]] = []
_TUTORIAL = re.compile(rf"(^|/){GALLERY}/plot_[^/]+\.html")


def search(page: Page, lang: str, query: str) -> list[tuple[str, str]]:
    """Run a query on the search page of ``lang``; the results as (title, href), in order."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    page.goto(f"{lang}/search.html?q={quote(query)}")
    finished = "() => document.querySelector('#search-results .search-summary')?.textContent.trim()"
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    while not page.evaluate(finished):
        if errors or time.monotonic() > deadline:
            pytest.fail(f"the {lang} search for {query!r} never finished: {errors}")
        page.wait_for_timeout(50)
    links = page.locator("#search-results ul.search li > a")
    return links.evaluate_all("ls => ls.map(a => [a.textContent.trim(), a.getAttribute('href')])")


@pytest.mark.parametrize(
    ("lang", "query", "title_parts", "top", "topic"),
    [(*case, None)[:5] for case in CASES],
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_search_ranks_the_page_a_reader_expects(
    page: Page, lang: str, query: str, title_parts: tuple[str, ...], top: int, topic: str | None
) -> None:
    results = search(page, lang, query)
    if topic:
        wanted = re.compile(rf"(^|/){GALLERY}/plot_\d+_{topic}\.html")
        assert any(wanted.search(href) for _, href in results), (
            f"the {lang} search for {query!r} does not list the {topic} tutorial: {results}"
        )
    titles = [title for title, _ in results]
    rank = next(
        (
            i + 1
            for i, title in enumerate(titles)
            if any(p.lower() in title.lower() for p in title_parts)
        ),
        None,
    )
    _RANKS.append([lang, query, " | ".join(title_parts), str(rank or "-"), str(len(results))])
    assert rank is not None, f"{lang} {query!r}: no page titled with {title_parts}: {titles}"
    assert rank <= top, (
        f"{lang} {query!r}: the page titled with {title_parts} is at rank {rank} "
        f"(wanted <= {top}); results: {titles[:8]}"
    )
    # a topic word finds a tutorial first, never an API object or another page
    assert _TUTORIAL.search(results[0][1]), f"{lang} {query!r}: first result {results[0]}"


def test_chinese_query_without_spaces_finds_what_the_spaced_one_finds(page: Page) -> None:
    joined = {href for _, href in search(page, "zh_CN", "张量形状")}
    spaced = {href for _, href in search(page, "zh_CN", "张量 形状")}
    assert spaced, "the spaced query finds nothing"
    assert joined == spaced


@pytest.fixture(scope="module", autouse=True)
def _rank_report() -> object:
    yield
    if _RANKS:
        REPORTS["search ranks"] = [["lang", "query", "title contains", "rank", "results"], *_RANKS]
