"""The tutorials' downloads: served, well formed, and in Chinese on the Chinese site.

The Chinese ``.py`` and ``.ipynb`` are written by ``docs/_ext/pttour_downloads.py`` from the
English ones and the page's catalog: prose translated, code byte for byte as it ran.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from ._site import CJK, GALLERY, LANGUAGES, downloads, tutorials

if TYPE_CHECKING:
    from playwright.sync_api import Page

TUTORIALS = tutorials()
_WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def _blocks(script: Path) -> list:
    """Sphinx-Gallery's own split of a script into text and code blocks."""
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    return split_code_and_text_blocks(str(script))[1]


def _code_blocks(script: Path) -> list[str]:
    # Blank lines around a block depend on how the cells are separated, not on the code.
    return [block.content.strip("\n") for block in _blocks(script) if block.type == "code"]


def _cells(notebook: Path, kind: str) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]).strip("\n") for cell in cells if cell["cell_type"] == kind]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_every_download_link_returns_the_file(page: Page, lang: str, name: str) -> None:
    page.goto(f"{lang}/{GALLERY}/{name}.html", wait_until="domcontentloaded")
    urls = sorted(
        set(
            page.locator("a[href]").evaluate_all(
                "links => links.map(a => new URL(a.href)).filter(url =>"
                " url.origin === location.origin && /\\.(py|ipynb)$/.test(url.pathname))"
                ".map(url => url.href)"
            )
        )
    )
    suffixes = {Path(urlsplit(url).path).suffix for url in urls}
    assert suffixes == {".py", ".ipynb"}, f"{lang}/{name} offers {urls}"
    for url in urls:
        response = page.request.get(url)
        assert response.status == 200, f"{url}: HTTP {response.status}"
        body = response.body()
        assert body, f"{url} is empty"
        if url.endswith(".ipynb"):
            assert json.loads(body)["cells"], f"{url} is a notebook without cells"
        else:
            compile(body, url, "exec")  # a SyntaxError fails the test


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_zip_holds_the_same_script_and_notebook(lang: str, name: str) -> None:
    files = downloads(lang, name)
    archive = files.pop(".zip", None)
    assert archive is not None, f"{lang}/{name} offers no zip"
    assert archive.is_file(), f"{archive} is missing"
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == sorted(path.name for path in files.values())
        for path in files.values():
            assert zipped.read(path.name) == path.read_bytes(), f"{archive.name}: {path.name}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_chinese_download_keeps_the_english_code(name: str) -> None:
    english, chinese = downloads("en", name), downloads("zh_CN", name)
    assert _code_blocks(chinese[".py"]) == _code_blocks(english[".py"])
    assert _cells(chinese[".ipynb"], "code") == _cells(english[".ipynb"], "code")


@pytest.mark.parametrize("name", TUTORIALS)
def test_chinese_download_has_chinese_prose(name: str) -> None:
    chinese = downloads("zh_CN", name)
    prose = [
        b.content for b in _blocks(chinese[".py"]) if b.type == "text" and _WORDS.search(b.content)
    ]
    assert prose, f"{name}.py has no prose at all"
    assert CJK.search(prose[0]), f"the title and introduction of zh_CN {name}.py are not Chinese"
    # Directive bodies and indented material stay English by design, so not every block must be
    # Chinese; most of them must.
    in_chinese = [text for text in prose if CJK.search(text)]
    assert 2 * len(in_chinese) >= len(prose), (
        f"zh_CN {name}.py: only {len(in_chinese)} of {len(prose)} prose blocks are Chinese"
    )
    markdown = _cells(chinese[".ipynb"], "markdown")
    assert markdown, f"zh_CN {name}.ipynb has no text cell"
    assert CJK.search(markdown[0]), f"zh_CN {name}.ipynb opens without Chinese"
