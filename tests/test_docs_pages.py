"""How each tutorial page teaches, read from the built site in both languages.

- The lesson comes first: every erratum block (its ``erratum-eNN`` anchor) sits after the
  page's takeaways, inside the closing "What the article got wrong" section, before the
  exercises.
- Every page ends with 2 to 4 exercises, each with a solution that ran in the build, folded
  until the reader opens it; at least one shows its starting code without running it (the
  reader predicts the output, the solution runs it).
- A Chinese page is Chinese in its code too: the same comments as the English page, each
  translated; every figure's caption and alt text are in the page's language.
- The downloads: distinct names per language, the same code token for token, and notebooks
  whose Markdown shows no reST.

These tests skip, saying so, when the site is not built (``nox -s docs`` builds it).
"""

from __future__ import annotations

import io
import json
import re
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
LANGUAGES = ("en", "zh_CN")
TUTORIALS = tuple(sorted(path.stem for path in (ROOT / "docs" / "tutorials").glob("plot_*.py")))
CJK = re.compile(r"[\u3400-\u9fff]")
MIN_EXERCISES, MAX_EXERCISES = 2, 4

pytestmark = pytest.mark.skipif(
    not all((SITE / lang / "index.html").is_file() for lang in LANGUAGES),
    reason=f"no built site in {SITE.relative_to(ROOT)}; build it with `nox -s docs`",
)


@pytest.fixture(scope="module")
def ext():
    """docs/_ext/pttour_lessons.py, for the rule of which comments are catalog messages."""
    pytest.importorskip("sphinx", reason="Sphinx is not installed; `nox -s docs` installs it")
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import pttour_lessons
    finally:
        sys.path.pop(0)
    return pttour_lessons


def _soup(lang: str, name: str):
    bs4 = pytest.importorskip("bs4", reason="BeautifulSoup comes with the docs group")
    path = SITE / lang / "auto_tutorials" / f"{name}.html"
    return bs4.BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _article(lang: str, name: str):
    return _soup(lang, name).select_one("article.bd-article")


# -- lesson first, the article's mistakes after it ---------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_errata_follow_the_lesson_and_precede_the_exercises(lang: str, name: str) -> None:
    ids = [tag["id"] for tag in _article(lang, name).find_all(id=True)]
    errata = [i for i, anchor in enumerate(ids) if re.fullmatch(r"erratum-e\d\d", anchor)]
    assert "takeaways" in ids, f"{name}: no Takeaways section"
    if not errata:
        return
    closing = ids.index("what-the-article-got-wrong") if "what-the-article-got-wrong" in ids else -1
    assert closing > ids.index("takeaways"), f"{name}: the errata section is not after the lesson"
    assert min(errata) > closing, f"{name}: {ids[min(errata)]} comes before the lesson ends"
    if "exercises" in ids:
        assert max(errata) < ids.index("exercises"), f"{name}: an erratum after the exercises"


# -- exercises -------------------------------------------------------------------------------


def _exercises(lang: str, name: str):
    section = _article(lang, name).find("section", id="exercises")
    assert section is not None, f"{lang}/{name}: no Exercises section"
    return section.find_all("section", recursive=False)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_every_page_ends_with_exercises_whose_solutions_ran_folded(lang: str, name: str) -> None:
    exercises = _exercises(lang, name)
    assert MIN_EXERCISES <= len(exercises) <= MAX_EXERCISES, f"{name}: {len(exercises)} exercises"
    predict = 0
    for exercise in exercises:
        title = exercise.find(re.compile("^h[34]$")).get_text()
        assert re.search("★{1,3}", title), f"{name}: no difficulty mark in {title!r}"
        solutions = exercise.find_all("details", class_="pttour-solution")
        assert len(solutions) == 1, f"{name}: {title!r} has {len(solutions)} solutions"
        (solution,) = solutions
        assert solution.get("open") is None, f"{name}: the solution of {title!r} is open"
        assert solution.find("summary").get_text(strip=True), f"{name}: {title!r} summary empty"
        assert solution.select("div.highlight-Python pre"), (
            f"{name}: {title!r} solution has no code"
        )
        shown = solution.select(".sphx-glr-script-out, img")
        assert shown, f"{name}: the solution of {title!r} shows no output: did it run?"
        before = [
            block
            for block in exercise.select("div.highlight-python")
            if solution not in block.parents
        ]
        predict += bool(before)
    assert predict >= 1, f"{name}: no exercise shows starting code for the reader to predict"


# -- Chinese in the code, the figures and the downloads ------------------------------------------


def _code_blocks(lang: str, name: str) -> list[str]:
    blocks = _article(lang, name).select(
        "div.highlight-Python pre, div.highlight-python pre, div.highlight-bash pre"
    )
    return [block.get_text() for block in blocks]


@pytest.mark.parametrize(
    ("comment", "words"),
    [
        ("# the loss of one batch", True),
        ('# wrong: "9" > "1"', True),  # a label, though Python parses it as an annotation
        ("# shape (4, 1)", True),
        ("# calls sgd.zero_grad() or sgd.step()", True),
        ("# loss.backward()", False),  # commented-out code stays as it is
        ("# x = y + 1", False),
        ("# (1)", False),  # nothing to translate
        ("# noqa: E501", False),
    ],
)
def test_comments_with_words_are_messages_and_code_is_not(ext, comment: str, words: bool) -> None:
    assert [c.text for c in ext.comments(f"x = 1  {comment}\n") if c.text] == (
        [comment.removeprefix("# ")] if words else []
    )


@pytest.mark.parametrize("name", TUTORIALS)
def test_chinese_code_has_the_english_comments_translated(ext, name: str) -> None:
    comments = ext.comments
    english = [c.text for code in _code_blocks("en", name) for c in comments(code)]
    chinese = [c.text for code in _code_blocks("zh_CN", name) for c in comments(code)]
    assert len(chinese) == len(english), f"{name}: {len(english)} comments, {len(chinese)} in zh"
    untranslated = [e for e, z in zip(english, chinese, strict=True) if not CJK.search(z)]
    assert not untranslated, f"{name}: comments left in English: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_every_figure_has_a_caption_and_alt_text_in_the_page_language(lang: str, name: str) -> None:
    for image in _article(lang, name).select("img.sphx-glr-single-img, img.sphx-glr-multi-img"):
        figure = image.find_parent("figure", class_="pttour-figure")
        assert figure is not None, f"{lang}/{name}: {image['src']} has no caption"
        figcaption = figure.find("figcaption")
        for permalink in figcaption.select("a.headerlink"):
            permalink.decompose()
        caption = " ".join(figcaption.get_text().split())
        assert image["alt"] == caption, f"{lang}/{name}: alt text {image['alt']!r}"
        assert bool(CJK.search(caption)) == (lang == "zh_CN"), f"{lang}/{name}: {caption!r}"


def _download(lang: str, name: str, suffix: str) -> Path:
    soup = _soup(lang, name)
    links = [a["href"] for a in soup.select("a.reference.download") if a["href"].endswith(suffix)]
    (href,) = {link for link in links if "/auto_tutorials_" not in link}
    return (SITE / lang / "auto_tutorials" / href).resolve()


def _without_docstring(script: str) -> str:
    return script.split('"""', 2)[2] if script.startswith('"""') else script


def _code_tokens(code: str) -> list[tuple[int, str]]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return [(token.type, token.string) for token in tokens if token.type not in skip]


@pytest.mark.parametrize("name", TUTORIALS)
def test_downloads_differ_by_name_and_comments_only(ext, name: str) -> None:
    comments = ext.comments
    for suffix in (".py", ".ipynb"):
        english, chinese = (_download(lang, name, suffix) for lang in LANGUAGES)
        assert english.name != chinese.name, f"{name}: both languages download {english.name}"
        if suffix == ".py":  # the docstring at the top is the page's translated prose
            pairs = [tuple(_without_docstring(p.read_text("utf-8")) for p in (english, chinese))]
        else:
            cells = [
                ["".join(c["source"]) for c in json.loads(path.read_text("utf-8"))["cells"]
                 if c["cell_type"] == "code"]
                for path in (english, chinese)
            ]  # fmt: skip
            pairs = list(zip(*cells, strict=True))
        for en, zh in pairs:
            assert _code_tokens(en) == _code_tokens(zh), f"{chinese.name}: the code differs"
        if suffix == ".ipynb":
            for en, zh in pairs:
                found = [c.text for c in comments(zh)]
                assert len(found) == len(comments(en)), f"{chinese.name}: comments differ"
                assert all(CJK.search(text) for text in found), f"{chinese.name}: {found}"


_REST = re.compile(r"\\ |:[a-z]+(?::[a-z]+)?:`|^\s*\.\. [a-z-]+::|`_(?!_)|^\s*\.\. _", re.MULTILINE)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_notebook_markdown_shows_no_rest(lang: str, name: str) -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py comes with MyST")
    renderer = markdown_it.MarkdownIt("commonmark")
    bs4 = pytest.importorskip("bs4", reason="BeautifulSoup comes with the docs group")
    notebook = json.loads(_download(lang, name, ".ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        shown = bs4.BeautifulSoup(renderer.render("".join(cell["source"])), "html.parser")
        for code in shown.find_all("code"):
            code.decompose()  # a code span shows its text as it is
        found = _REST.findall(shown.get_text())
        assert not found, f"{lang}/{name}.ipynb shows reST: {found} in {shown.get_text()[:200]!r}"
