"""Every task a maintainer runs: ``nox -l`` lists them, ``nox -s NAME`` runs one."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# The torch the tests run against. ~=2.13.0 resolves to the CPU wheel on the project's
# machines; an unpinned torch would pull a CUDA build of several GB.
TORCH = "torch~=2.13.0"


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
    """Check style and common bugs with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", "src", "tests", "docs", "noxfile.py", *session.posargs)
    session.run("ruff", "format", "--check", "src", "tests", "docs", "noxfile.py")
