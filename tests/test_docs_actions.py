"""What a reader can do from any page, checked in the built HTML (no browser).

- The links at the top of every tutorial, in the page's language: its ``.py`` and ``.ipynb``,
  "Run in Google Colab" (a notebook of this build, at its path on the branch the pages workflow
  publishes), its source on GitHub and a new issue that names the page.
- Run times never read "0.0 s".
- The site root's 404 page (GitHub Pages shows it for any missing address) holds its own style
  and icon; each language's 404 page resolves its links from the address it is shown at.
- The favicon on every page.

The tests of the built site skip, saying so, when there is no built site (``nox -s docs``).
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from packaging.metadata import Metadata

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
LANGUAGES = ("en", "zh_CN")
TUTORIALS = tuple(sorted(path.stem for path in (DOCS / "tutorials").glob("plot_*.py")))
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
FAVICON = DOCS / "_static" / "pttour-favicon.svg"
CJK = re.compile(r"[\u4e00-\u9fff]")

needs_site = pytest.mark.skipif(
    not all((SITE / lang / "index.html").is_file() for lang in LANGUAGES),
    reason=f"no built site in {SITE.relative_to(ROOT)}; build it with `nox -s docs`",
)


@pytest.fixture(scope="module")
def ext():
    """docs/_ext as modules: pttour_site (the labels), pttour_gallery (the links, run times)."""
    pytest.importorskip("sphinx", reason="Sphinx is not installed; `nox -s docs` installs it")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import pttour_gallery
        import pttour_site
    finally:
        sys.path.pop(0)
    return {"site": pttour_site, "gallery": pttour_gallery}


def _project_url(label: str) -> str:
    metadata = importlib.metadata.distribution("pttour").read_text("METADATA")
    return Metadata.from_email(metadata).project_urls[label].rstrip("/")


def _published_branch() -> str:
    text = (DOCS / "_data" / "published_branch.toml").read_text(encoding="utf-8")
    return re.search(r'^branch = "([^"]+)"$', text, re.MULTILINE)[1]


def _tutorial(lang: str, name: str) -> tuple[Path, str]:
    path = SITE / lang / "auto_tutorials" / f"{name}.html"
    return path, path.read_text(encoding="utf-8")


_ACTIONS = re.compile(r'<ul class="pttour-actions">(.*?)</ul>', re.DOTALL)
_ACTION = re.compile(r'<a class="pttour-action" href="([^"]*)"[^>]*>.*?</i>([^<]*)</a>', re.DOTALL)


def _actions(text: str) -> list[tuple[str, str]]:
    """The (address, label) of each link at the top of a tutorial page."""
    found = _ACTIONS.findall(text)
    assert len(found) == 1, f"{len(found)} lists of links at the top of the page"
    return [
        (html.unescape(url), html.unescape(label).strip())
        for url, label in _ACTION.findall(found[0])
    ]


def _bottom_download(page: Path, text: str, suffix: str) -> Path:
    """The file the Sphinx-Gallery button at the end of the page downloads."""
    kind = {".py": "python", ".ipynb": "jupyter"}[suffix]
    found = re.search(
        rf'<div class="sphx-glr-download sphx-glr-download-{kind} docutils container">\s*'
        r'<p><a class="[^"]*download[^"]*" download="" href="([^"]+)"',
        text,
    )
    assert found, f"{page.name}: no {suffix} button at the end of the page"
    return (page.parent / unquote(found[1])).resolve()


# -- the links at the top of every tutorial ------------------------------------------------------


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorial_starts_with_its_links_in_its_language(ext, lang: str, name: str) -> None:
    page, text = _tutorial(lang, name)
    labels = ext["site"].SITE_TEXT[lang]
    actions = _actions(text)
    assert [label for _, label in actions] == [
        labels[key]
        for key in ("action_py", "action_ipynb", "action_colab", "action_source", "action_report")
    ]
    assert text.index('class="pttour-actions"') < text.index("<h1>"), "the links come first"
    (py, _), (ipynb, _), _, (source, _), (report, _) = actions
    tag = "" if lang == "en" else f"_{lang}"  # the Chinese downloads carry the language
    for url, suffix in ((py, ".py"), (ipynb, ".ipynb")):
        target = (page.parent / unquote(url)).resolve()
        assert target.name == f"{name}{tag}{suffix}", url
        assert target.is_relative_to((SITE / lang / "_downloads").resolve()), url
        assert target == _bottom_download(page, text, suffix), "not the file the page ends with"
    assert source == f"{_project_url('Source')}/blob/HEAD/docs/tutorials/{name}.py"
    assert (ROOT / "docs" / "tutorials" / f"{name}.py").is_file()
    issue = urlsplit(report)
    assert f"{issue.scheme}://{issue.netloc}{issue.path}" == f"{_project_url('Issues')}/new"
    title = parse_qs(issue.query)["title"][0]
    heading = html.unescape(
        re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", text, re.DOTALL)[1])
    )
    assert heading.removesuffix("#").strip() in title, f"the issue's title names no page: {title}"
    assert f"{lang}/auto_tutorials/{name}.html" in parse_qs(issue.query)["body"][0]
    if lang == "zh_CN":
        assert all(CJK.search(label) for _, label in actions[2:]), actions


def _publish_step() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed; `nox -s docs` has it")
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("peaceiris/actions-gh-pages@"):
                assert job.get("permissions", {}).get("contents") == "write", job
                return {"job": job, "step": step}
    pytest.fail(f"{WORKFLOW.relative_to(ROOT)} publishes the site to no branch")


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_colab_opens_this_pages_notebook_on_the_published_branch(lang: str, name: str) -> None:
    page, text = _tutorial(lang, name)
    colab = _actions(text)[2][0]
    repository = urlsplit(_project_url("Source")).path.strip("/")
    prefix = f"https://colab.research.google.com/github/{repository}/blob/{_published_branch()}/"
    assert colab.startswith(prefix), colab
    published = ROOT / _publish_step()["step"]["with"]["publish_dir"]
    notebook = published / colab.removeprefix(prefix)
    assert notebook.resolve() == _bottom_download(page, text, ".ipynb"), colab
    assert notebook.is_relative_to(published / lang), "a notebook of another language"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    assert cells, f"{notebook.name} has no cells"
    assert cells[0]["cell_type"] == "code", "the install cell comes first"


def test_workflow_publishes_the_built_site_to_the_branch_read_from_one_place(tmp_path) -> None:
    found = _publish_step()
    step, job = found["step"], found["job"]
    assert step["with"]["publish_dir"] == "docs/_build/html"
    reader = re.fullmatch(
        r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", step["with"]["publish_branch"]
    )
    assert reader, f"the branch is not read: {step['with']['publish_branch']}"
    command = next(s["run"] for s in job["steps"] if s.get("id") == reader[1])
    if sys.version_info < (3, 11):
        pytest.skip("the step runs Python 3.11's tomllib; this is Python < 3.11")
    output = tmp_path / "github_output"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        check=True,
        env={**os.environ, "GITHUB_OUTPUT": str(output), "PATH": path},
    )
    assert output.read_text(encoding="utf-8").strip() == f"{reader[2]}={_published_branch()}"


def test_colab_url(ext) -> None:
    assert ext["gallery"].colab_url("https://github.com/a/b.git", "pages", "en/x.ipynb") == (
        "https://colab.research.google.com/github/a/b/blob/pages/en/x.ipynb"
    )


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_tutorial_keeps_the_go_to_the_end_note(lang: str) -> None:
    # The downloads are at the top now; the note would only send the reader away from them.
    noted = [n for n in TUTORIALS if "sphx-glr-download-link-note" in _tutorial(lang, n)[1]]
    assert not noted


# -- run times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.0, "< 0.1"), (0.049, "< 0.1"), (0.06, "0.1"), (12.4, "12")]
)
def test_run_time_is_never_zero(ext, seconds: float, shown: str) -> None:
    assert ext["gallery"].format_seconds(seconds) == shown


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_says_it_ran_in_zero_seconds(lang: str) -> None:
    shown = {
        name: re.search(r'<p class="pttour-run-time">([^<]*)</p>', _tutorial(lang, name)[1])
        for name in TUTORIALS
    }
    assert all(shown.values()), [name for name, found in shown.items() if not found]
    zero = {name: found[1] for name, found in shown.items() if re.search(r"\b0\.0 ", found[1])}
    assert not zero


# -- 404 pages and the favicon -------------------------------------------------------------------


def _favicon_links(text: str) -> list[str]:
    return [
        html.unescape(href) for href in re.findall(r'<link rel="icon"[^>]* href="([^"]+)"', text)
    ]


@needs_site
def test_root_404_holds_its_style_and_icon_and_no_site_path() -> None:
    page = SITE / "404.html"
    assert page.is_file(), "no 404.html at the site root: GitHub Pages would show its own"
    text = page.read_text(encoding="utf-8")
    assert "<style>" in text, "the page holds no style of its own"
    assert 'rel="stylesheet"' not in text, "styles from another address"
    assert "/pttour/" not in text, "the site's folder is hard-coded"
    (icon,) = _favicon_links(text)
    assert icon.startswith("data:image/svg+xml,")
    assert unquote(icon.split(",", 1)[1]) == FAVICON.read_text(encoding="utf-8").strip()
    for lang in LANGUAGES:
        assert f'data-site="{lang}/index.html"' in text, f"no link to the {lang} site"


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_404_sets_its_base_before_loading_anything(lang: str) -> None:
    text = (SITE / lang / "404.html").read_text(encoding="utf-8")
    head = text[: text.index("</head>")]
    base = head.find('document.createElement("base")')
    assert base > -1, "no <base> for the address the page is shown at"
    first_load = min(head.find(tag) for tag in ('<link rel="stylesheet"', "<script src="))
    assert base < first_load, "the <base> comes after what it should resolve"
    assert f"\\/{lang}\\/" in head, "the language folder is not looked for in the address"
    links = re.findall(r'<a [^>]*href="([^"#][^"]*)"', text)
    absolute = [url for url in links if url.startswith("/")]
    assert not absolute, f"links that hold the site's path: {absolute[:5]}"


def _pages(lang: str) -> list[Path]:
    folder = SITE / lang
    return sorted(
        p for p in folder.rglob("*.html") if not p.relative_to(folder).parts[0].startswith("_")
    )


@needs_site
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_links_the_favicon(lang: str) -> None:
    wanted = FAVICON.read_bytes()
    missing = []
    for page in _pages(lang):
        if page.name == "404.html":
            continue  # resolved from the address it is shown at: the browser test
        icons = _favicon_links(page.read_text(encoding="utf-8"))
        if len(icons) != 1 or (page.parent / urlsplit(icons[0]).path).read_bytes() != wanted:
            missing.append(page.relative_to(SITE).as_posix())
    assert not missing, missing
    chooser = SITE / "index.html"
    (icon,) = _favicon_links(chooser.read_text(encoding="utf-8"))
    assert (SITE / icon).read_bytes() == wanted
