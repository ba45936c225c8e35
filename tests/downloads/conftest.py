"""Fixtures of the download test: the site's wheel, and the reader's venv with it installed.

``nox -s downloads`` runs this folder, after ``nox -s docs`` built the site, in a venv of its own
(pytest only) and hands over the reader's Python in ``PTTOUR_READER_PYTHON``. Run by hand, or
without a built site, every test here is skipped, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _durations import pytest_runtest_logreport, pytest_terminal_summary  # noqa: F401

from ._reader import (
    LANGUAGES,
    NEEDS_PTTOUR,
    Reader,
    Wheel,
    download,
    notebook_runs_its_script,
    site_is_built,
    site_wheel,
)

READER_PYTHON = "PTTOUR_READER_PYTHON"
# The tests whose downloads start running as soon as the session knows them.
RUNS_A_DOWNLOAD = {"test_download_runs", "test_page_shows_what_the_download_prints"}


def _skip_reason() -> str | None:
    if not site_is_built():
        return "no built site in docs/_build/html; build it with `nox -s docs`"
    if not os.environ.get(READER_PYTHON):
        return f"no reader's venv ({READER_PYTHON} is unset); run these with `nox -s downloads`"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def wheel() -> Wheel:
    return site_wheel()


@pytest.fixture(scope="session")
def reader(request: pytest.FixtureRequest, wheel: Wheel) -> Iterator[Reader]:
    """The reader's venv: first without pttour, then with the site's wheel installed.

    Without pttour, the English script of the first tutorial that imports pttour runs once (its outcome is kept in
    ``reader.without_pttour``); then pip installs the wheel from the built site, without
    reaching a package index (everything else it needs is there), and the runs of the
    downloads that the selected tests need start in the background.
    """
    reader = Reader(Path(os.environ[READER_PYTHON]), workers=os.cpu_count() or 1)
    selected = [
        (getattr(item, "originalname", ""), getattr(item, "callspec", None))
        for item in request.session.items
    ]
    reader.pip("uninstall", "--yes", "pttour")
    if any(name == "test_without_pttour_the_script_stops_at_pttour" for name, _ in selected):
        script = download(LANGUAGES[0], NEEDS_PTTOUR, ".py")
        reader.without_pttour = reader.run(script) if script else None
    reader.pip("install", str(wheel.path))
    for name, callspec in selected:
        if name in RUNS_A_DOWNLOAD and callspec is not None:
            lang, tutorial = callspec.params["lang"], callspec.params["name"]
            path = download(lang, tutorial, callspec.params.get("suffix", ".py"))
            script = download(lang, tutorial, ".py")
            if (
                path is not None
                and path.suffix == ".ipynb"
                and script is not None
                and notebook_runs_its_script(path, script)
            ):
                path = script  # the same code: the script's run stands for it
            if path is not None:
                reader.start(path)
    yield reader
    reader.close()
