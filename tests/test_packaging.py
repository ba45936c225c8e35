"""pttour as a package: one version, one set of addresses, one torch minimum, all shown alike.

The version is written once (``__version__``, which ``pyproject.toml`` reads); the addresses
and the oldest supported torch are written once in ``pyproject.toml``, and reach the code
through the installed package's metadata. These tests check that every place showing one of
them to a reader agrees with that source: the command line, the install page, the header of
every tutorial in both languages, and, once ``nox -s docs`` has built it, the site's wheel.
"""

from __future__ import annotations

import ast
import importlib.metadata
import itertools
import re
import runpy
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata

import pttour
from pttour.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
TUTORIALS = sorted((DOCS / "tutorials").glob("plot_*.py"))
CATALOGS = DOCS / "locale" / "zh_CN" / "LC_MESSAGES"
METADATA = Metadata.from_email(importlib.metadata.distribution("pttour").read_text("METADATA"))
URLS = METADATA.project_urls
SITE_URL = URLS["Documentation"]
(TORCH_MINIMUM,) = [
    spec.version
    for requirement in METADATA.requires_dist or []
    if requirement.name == "torch"
    for spec in requirement.specifier
    if spec.operator == ">="
]
WHEEL = f"pttour-{pttour.__version__}-py3-none-any.whl"

# How a tutorial's header names each package that the tutorial imports.
HEADER_NAMES = {
    "torch": f"PyTorch ≥ {TORCH_MINIMUM}",
    "pttour": "pttour",
    "numpy": "NumPy",
    "matplotlib": "matplotlib",
    "sklearn": "scikit-learn",
}
HEADER = re.compile(
    r"\*\*What you need:\*\* (?P<needs>.+?)\. The `installation page\s+<(?P<url>\S+)>`_"
)
HEADER_ZH = re.compile(
    r"\*\*所需环境：\*\* (?P<needs>.+?)。安装方法见\\ `安装页面 <(?P<url>\S+)>`_。"  # no visible gap
)


# -- the version ------------------------------------------------------------------------------------


def test_version_is_written_only_in_the_package() -> None:
    tomllib = pytest.importorskip("tomllib", reason="Python 3.10 has no tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/pttour/__init__.py"
    # the installed metadata was made from it (a stale one means: reinstall pttour)
    assert importlib.metadata.version("pttour") == pttour.__version__


def test_command_line_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"pttour {pttour.__version__}\n"


# -- the torch minimum and the addresses, wherever a reader sees them ------------------------------


def _imported(script: Path) -> set[str]:
    """The top-level modules a script needs that are not Python's own: those it imports, and
    those it runs as ``python -m NAME`` (a ``"-m", "NAME"`` pair of string constants)."""
    names = set()
    tree = ast.parse(script.read_bytes())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
        elif isinstance(node, ast.List | ast.Tuple):
            items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            names |= {b.partition(".")[0] for a, b in itertools.pairwise(items) if a == "-m"}
    return names - set(sys.stdlib_module_names)


def _needs(listed: str, separators: str) -> set[str]:
    return set(re.split(separators, listed))


def _header(script: Path) -> str:
    """The last paragraph of the tutorial's docstring, on one line."""
    docstring = ast.get_docstring(ast.parse(script.read_bytes()), clean=False) or ""
    return " ".join(docstring.strip().split("\n\n")[-1].split())


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_tutorial_header_names_what_the_tutorial_imports(script: Path) -> None:
    header = _header(script)
    match = HEADER.match(header)
    assert match, f"{script.name}: the docstring must end with the 'What you need' passage"
    unknown = _imported(script) - HEADER_NAMES.keys()
    assert not unknown, f"{script.name} imports {unknown}: name them in its header and here"
    expected = {HEADER_NAMES[name] for name in _imported(script)}
    assert _needs(match["needs"], ", | and ") == expected, header
    assert match["url"] == f"{SITE_URL}en/install.html"


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_translated_header_names_the_same_and_the_chinese_install_page(script: Path) -> None:
    polib = pytest.importorskip("polib", reason="polib comes with the docs group (`nox -s docs`)")
    header = _header(script)
    catalog = polib.pofile(str(CATALOGS / "auto_tutorials" / f"{script.stem}.po"))
    entry = catalog.find(header)
    assert entry is not None, f"no catalog entry for the header of {script.name}"
    match = HEADER_ZH.fullmatch(entry.msgstr)
    assert match, f"{script.stem}.po: {entry.msgstr!r}"
    expected = _needs(HEADER.match(header)["needs"], ", | and ")
    assert _needs(match["needs"], "、| 和 ") == expected
    assert match["url"] == f"{SITE_URL}zh_CN/install.html"


def test_install_page_takes_the_torch_minimum_from_the_metadata() -> None:
    """The page writes no version: a role renders the metadata's (tests/test_compat_record.py)."""
    rows = re.findall(r"^\| PyTorch \| ([^|]+) \|", (DOCS / "install.md").read_text(), re.MULTILINE)
    assert [row.strip() for row in rows] == ["{pttour-version}`torch-minimum`"]


def test_every_address_of_the_project_is_one_of_the_metadata() -> None:
    """A page or file that writes out an address of the project writes one pyproject gives."""
    found = re.compile(r"https://(?:pttour\.github\.io|github\.com/pttour)[^\s)\"'`>\]]*")
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", DOCS / "install.md", *TUTORIALS]
    files += sorted(CATALOGS.rglob("*.po"))
    stray = [
        f"{path.relative_to(ROOT)}: {url}"
        for path in files
        for url in found.findall(path.read_text(encoding="utf-8"))
        if not any(url.startswith(known) for known in URLS.values())
    ]
    assert not stray, stray


# -- docs/_ext/pttour_install.py -------------------------------------------------------------------


@pytest.fixture(scope="module")
def install_ext():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import pttour_install
    finally:
        sys.path.pop(0)
    return pttour_install


def test_site_configuration_reads_the_addresses_and_the_minimum_from_the_metadata() -> None:
    conf = runpy.run_path(str(DOCS / "conf.py"))
    assert conf["pttour_site_url"] == conf["html_baseurl"] == SITE_URL
    assert conf["pttour_repository_url"] == URLS["Source"]
    assert conf["pttour_issues_url"] == URLS["Issues"]
    assert "{}.{}".format(*pttour.MIN_TORCH) == TORCH_MINIMUM  # what conf.py gives the pages
    assert (
        f'if _needs("torch", {pttour.MIN_TORCH!r}):'
        in conf["sphinx_gallery_conf"]["first_notebook_cell"]
    )


def test_install_cell_names_the_minimum_the_cpu_index_and_the_wheel(install_ext) -> None:
    cell = install_ext.install_cell("https://example.org/site/", "1.2.3", "2.6")
    assert 'if _needs("torch", (2, 6)):\n' in cell
    cpu = '%pip install "torch>=2.6" --index-url https://download.pytorch.org/whl/cpu\n'
    assert f'shutil.which("nvidia-smi") is None:\n        {cpu}' in cell
    assert 'else:\n        %pip install "torch>=2.6"\n' in cell
    assert "%pip install https://example.org/site/dist/pttour-1.2.3-py3-none-any.whl" in cell
    assert "https://example.org/site/en/install.html" in cell


def test_install_cell_speaks_the_page_language_and_links_its_install_page(install_ext) -> None:
    english = install_ext.install_cell("https://example.org/site/", "1.2.3", "2.6")
    chinese = install_ext.install_cell("https://example.org/site/", "1.2.3", "2.6", "zh_CN")
    comments = [line for line in chinese.splitlines() if line.startswith("#")]
    assert comments
    assert all(re.search(r"[\u4e00-\u9fff]", line) for line in comments)
    assert "https://example.org/site/zh_CN/install.html" in chinese
    code = [line for line in english.splitlines() if not line.startswith("#")]
    assert code == [line for line in chinese.splitlines() if not line.startswith("#")]


# -- the wheel on the built site -----------------------------------------------------------------

needs_site = pytest.mark.skipif(
    not (SITE / "en" / "install.html").is_file(),
    reason=f"no built site in {SITE.relative_to(ROOT)}; build it with `nox -s docs`",
)


@needs_site
def test_site_serves_this_version_s_wheel_at_its_stable_address() -> None:
    assert sorted(path.name for path in (SITE / "dist").iterdir()) == [WHEEL]
    with zipfile.ZipFile(SITE / "dist" / WHEEL) as wheel:
        top_level = {name.partition("/")[0] for name in wheel.namelist()}
        assert top_level == {"pttour", f"pttour-{pttour.__version__}.dist-info"}
        metadata = wheel.read(f"pttour-{pttour.__version__}.dist-info/METADATA").decode()
    assert f"Requires-Dist: torch>={TORCH_MINIMUM}" in metadata.splitlines()


def _install_page(lang: str):
    bs4 = pytest.importorskip("bs4", reason="BeautifulSoup comes with the docs group")
    return bs4.BeautifulSoup((SITE / lang / "install.html").read_text("utf-8"), "html.parser")


@needs_site
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_install_page_links_the_wheel_and_gives_the_pip_command(lang: str) -> None:
    page = _install_page(lang)
    wheel_links = [a["href"] for a in page.find_all("a", href=True) if a["href"].endswith(".whl")]
    assert wheel_links == [f"../dist/{WHEEL}"]
    assert (SITE / lang / wheel_links[0]).resolve() == (SITE / "dist" / WHEEL).resolve()
    text = page.get_text()
    assert f"python -m pip install {SITE_URL}dist/{WHEEL}" in text


@needs_site
def test_chinese_install_page_has_every_heading_translated() -> None:
    """A translation that does not parse like its message (a heading "1. Install" becomes a
    list) is dropped without a warning, and the page keeps the English."""
    headings = _install_page("zh_CN").find_all(["h1", "h2", "h3"])
    main = [text for heading in headings if (text := heading.get_text().strip())]
    assert main
    english = [heading for heading in main if not re.search(r"[\u4e00-\u9fff]", heading)]
    assert not english, english
