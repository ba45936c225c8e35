"""A reader downloads a tutorial, installs what its header says, and runs it.

Every script of both languages runs in the reader's venv, where pttour comes from the wheel on
the built site (the Chinese script is the English code: one run serves both), and prints what
its page shows. A notebook whose code cells are its script's code is proved by the script's run
and by its structure; one whose code differs runs too. A script run before pttour is installed
stops at pttour, and its header says where to get it. The notebooks start with a cell that
installs what is missing: it installs nothing here, and the right things where they are
missing.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ._reader import (
    LANGUAGES,
    NEEDS_PTTOUR,
    NOTEBOOK_INSTALL,
    SITE,
    SUFFIXES,
    TUTORIALS,
    Reader,
    Wheel,
    download,
    imports_pttour,
    notebook_runs_its_script,
    page_outputs,
)

DOWNLOADS = [
    (lang, name, suffix) for name in TUTORIALS for lang in LANGUAGES for suffix in SUFFIXES
]
DOWNLOAD_IDS = [f"{lang}-{name}{suffix}" for lang, name, suffix in DOWNLOADS]


def _cells(notebook: dict, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == kind]


def _header(path: Path) -> str:
    """What a reader sees first: the script's docstring, the notebook's first text cell."""
    if path.suffix == ".ipynb":
        return _cells(json.loads(path.read_text(encoding="utf-8")), "markdown")[0]
    return ast.get_docstring(ast.parse(path.read_bytes()), clean=False) or ""


def _download(lang: str, name: str, suffix: str) -> Path:
    path = download(lang, name, suffix)
    assert path is not None, f"the {lang} page of {name} offers no {suffix} download"
    return path


def test_reader_has_the_wheel_from_the_site(reader: Reader, wheel: Wheel) -> None:
    probe = (
        "import importlib.metadata, json, pttour; "
        "print(json.dumps({'file': pttour.__file__, 'version': pttour.__version__, "
        "'direct_url': importlib.metadata.distribution('pttour').read_text('direct_url.json')}))"
    )
    env = reader.env(Path(tempfile.gettempdir()))
    found = json.loads(
        subprocess.run(
            [str(reader.python), "-c", probe], capture_output=True, text=True, check=True, env=env
        ).stdout
    )
    assert found["version"] == wheel.version
    assert Path(found["file"]).is_relative_to(reader.prefix), found["file"]
    assert json.loads(found["direct_url"])["url"] == wheel.path.resolve().as_uri()
    version = subprocess.run(
        ["pttour", "--version"], capture_output=True, text=True, check=True, env=env
    )
    assert version.stdout == f"pttour {wheel.version}\n"


def test_without_pttour_the_script_stops_at_pttour(reader: Reader, wheel: Wheel) -> None:
    """The failure names pttour, and the script's header names it and the install page."""
    outcome = reader.without_pttour
    assert outcome is not None, f"the en page of {NEEDS_PTTOUR} offers no .py download"
    assert outcome.returncode != 0, f"ran to the end without pttour:\n{outcome.output}"
    assert "ModuleNotFoundError: No module named 'pttour'" in outcome.output, outcome.output
    header = _header(_download(LANGUAGES[0], NEEDS_PTTOUR, ".py"))
    assert "pttour" in header
    assert wheel.install_page(LANGUAGES[0]) in header, header


@pytest.mark.parametrize(("lang", "name", "suffix"), DOWNLOADS, ids=DOWNLOAD_IDS)
def test_download_says_what_it_needs(wheel: Wheel, lang: str, name: str, suffix: str) -> None:
    header = _header(_download(lang, name, suffix))
    assert f"PyTorch ≥ {wheel.torch_minimum}" in header, header
    # pttour is named exactly where the page imports it
    assert ("pttour" in header.replace(wheel.site_url, "")) == imports_pttour(
        name, or_runs_it=True
    ), header
    assert wheel.install_page(lang) in header, header


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_notebook_starts_with_the_install_cell(wheel: Wheel, lang: str, name: str) -> None:
    notebook = json.loads(_download(lang, name, ".ipynb").read_text(encoding="utf-8"))
    first = notebook["cells"][0]
    assert first["cell_type"] == "code"
    cell = "".join(first["source"])
    assert f'%pip install "torch>={wheel.torch_minimum}"' in cell
    assert f"%pip install {wheel.url}" in cell, f"not today's wheel:\n{cell}"


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "name", "suffix"), DOWNLOADS, ids=DOWNLOAD_IDS)
def test_download_runs(reader: Reader, lang: str, name: str, suffix: str) -> None:
    """A script runs to the end; so does a notebook: by its own run where its code differs
    from its script's, else by the script's run (the same code, after the install cell)."""
    path = _download(lang, name, suffix)
    if suffix == ".ipynb" and notebook_runs_its_script(path, _download(lang, name, ".py")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert cells[0]["cell_type"] == "code", cells[0]
        assert NOTEBOOK_INSTALL in "".join(cells[0]["source"]), cells[0]
        path = _download(lang, name, ".py")  # its run is this notebook's run
    outcome = reader.outcome(path)
    assert outcome.returncode == 0, (
        f"{lang} {path.name} failed (exit status {outcome.returncode}) running "
        f"`{outcome.command}` in a temporary folder; its output ends with:\n{outcome.output}"
    )
    if outcome.notebook is not None:
        install = outcome.notebook["cells"][0]
        assert install["outputs"] == [], f"the install cell did something here: {install}"


def _notebook(*sources: str) -> dict:
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell-{i}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for i, source in enumerate(sources)
    ]
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


# The notebooks' first cell, run by IPython as Jupyter and Colab run it. Only the step that
# would download is replaced: each %pip line records what it asks for instead of installing.
_RUN_INSTALL_CELL = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
calls = []
shell.run_line_magic = lambda magic, line, *args, **kwargs: calls.append(magic + " " + line)
shell.run_cell(open(sys.argv[1], encoding="utf-8").read()).raise_error()
print(json.dumps(calls))
"""


def _install_calls(python: Path, tmp_path: Path) -> list[list[str]]:
    notebook = _download(LANGUAGES[0], TUTORIALS[0], ".ipynb")
    cell = tmp_path / "install_cell.py"
    cell.write_text("".join(json.loads(notebook.read_text("utf-8"))["cells"][0]["source"]))
    run = subprocess.run(
        [str(python), "-c", _RUN_INSTALL_CELL, str(cell)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "IPYTHONDIR": str(tmp_path / ".ipython")},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return [shlex.split(call) for call in json.loads(run.stdout.strip().splitlines()[-1])]


@pytest.mark.slow
def test_install_cell_installs_nothing_where_everything_is_there(
    reader: Reader, tmp_path: Path
) -> None:
    assert _install_calls(reader.python, tmp_path) == []


@pytest.mark.slow
def test_install_cell_takes_torch_for_this_machine_where_it_is_missing(
    wheel: Wheel, tmp_path: Path
) -> None:
    """A fresh environment with IPython alone: no torch, matplotlib, scikit-learn or pttour."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True, timeout=300)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, "ipython"], check=True, timeout=600)
    torch = ["pip", "install", f"torch>={wheel.torch_minimum}"]
    if platform.system() == "Linux" and shutil.which("nvidia-smi") is None:  # as on this machine
        torch += ["--index-url", "https://download.pytorch.org/whl/cpu"]
    assert _install_calls(python, tmp_path) == [
        torch,
        ["pip", "install", "matplotlib"],
        ["pip", "install", "scikit-learn"],
        ["pip", "install", wheel.url],
    ]


# -- the page shows what the download prints -------------------------------------------------------

# Lines whose value depends on the machine or the moment, left out of the comparison, by rule:
MACHINE_DEPENDENT = {
    "a duration (a number and a unit of time)": re.compile(
        r"\d\s*(?:s|ms|us|µs|ns|sec|secs|seconds?|min|minutes?|h|hours?|秒|毫秒|分钟)\b"
        r"|\d\s*(?:秒|毫秒|分钟)"
        r"|\d[\d.]*\s*(?:it/s|s/it|samples/s|steps/s)"
    ),
    "a version (n.n.n, or a +local build label)": re.compile(r"\b\d+\.\d+\.\d+|\+(?:cpu|cu\d+)\b"),
    "an object's address (0x...)": re.compile(r"\b0x[0-9a-fA-F]{6,}\b"),
    "the hardware (core and thread counts, memory sizes, processor and GPU names)": re.compile(
        r"\b\d+(?:\.\d+)?\s*(?:[KMGT]i?B)\b|\b(?:cores?|threads?|AMD|Intel|EPYC|Xeon|NVIDIA)\b",
        re.IGNORECASE,
    ),
    "a path on the machine": re.compile(r"(?:^|[\s'\"(=])(?:/tmp/|/home/|/root/|/work/|[A-Z]:\\)"),
}


def machine_dependent(line: str) -> str | None:
    """The rule that leaves ``line`` out of the comparison, or None.

    >>> machine_dependent("epoch 3: loss 0.1234")
    >>> machine_dependent("took 12.5 ms per step")
    'a duration (a number and a unit of time)'
    >>> machine_dependent("torch 2.13.0+cpu")
    'a version (n.n.n, or a +local build label)'
    >>> machine_dependent("<object at 0x7f3a2c1d9e80>")
    "an object's address (0x...)"
    """
    return next((rule for rule, pattern in MACHINE_DEPENDENT.items() if pattern.search(line)), None)


def _comparable(lines: list[str]) -> list[str]:
    """Non-blank lines, without trailing spaces, less the machine-dependent ones."""
    kept = (line.rstrip() for line in lines)
    return [line for line in kept if line.strip() and machine_dependent(line) is None]


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", TUTORIALS)
def test_page_shows_what_the_download_prints(reader: Reader, lang: str, name: str) -> None:
    """The outputs on the page (solutions included), in order, are what the script prints."""
    outcome = reader.outcome(_download(lang, name, ".py"))  # the run test_download_runs made
    assert outcome.returncode == 0, f"{lang} {name}.py failed; test_download_runs says how"
    page = SITE / lang / "auto_tutorials" / f"{name}.html"
    shown = _comparable([line for block in page_outputs(page) for line in block.splitlines()])
    printed = _comparable(outcome.stdout.splitlines())
    if shown != printed:
        diff = difflib.unified_diff(
            shown, printed, "the page", "the script's run", lineterm="", n=1
        )
        pytest.fail(
            f"{lang}/{name}: the page shows {len(shown)} lines, the script prints "
            f"{len(printed)} (machine-dependent lines left out):\n" + "\n".join(list(diff)[:60])
        )
