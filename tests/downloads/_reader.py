"""The built site's downloads and wheel, and a reader's Python that runs them.

The reader's venv (``nox -s downloads`` makes it) holds the pinned torch, numpy, matplotlib and
what runs a notebook (nbclient, nbformat, ipykernel), and nothing of pttour until the tests
install the wheel that the site serves. Every run happens in a temporary folder of its own,
outside the checkout, with no ``PYTHONPATH``: the script with ``python``, the notebook in a
``python3`` kernel as Jupyter's "Run All" does. The runs are slow (each one imports torch), so
they start in the background, one per CPU core, as soon as the tests know what they need, and
each code runs once: the Chinese script is the English one's code, and a notebook whose code
cells are its script's code (after the install cell) is proved by the script's run.
"""

from __future__ import annotations

import ast
import email.message
import email.parser
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
import threading
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "_build" / "html"
LANGUAGES = ("en", "zh_CN")  # folders of the site; English is the source
GALLERY = "auto_tutorials"
# Every gallery script is a tutorial page, and each offers a script and a notebook.
TUTORIALS = tuple(sorted(path.stem for path in (ROOT / "docs" / "tutorials").glob("plot_*.py")))


def imports_pttour(name: str, *, or_runs_it: bool = False) -> bool:
    """Whether the tutorial ``name`` imports pttour (many pages teach plain PyTorch only), or,
    with ``or_runs_it``, also runs it as ``python -m pttour`` (a ``"-m", "pttour"`` pair)."""
    tree = ast.parse((ROOT / "docs" / "tutorials" / f"{name}.py").read_bytes())
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    if or_runs_it:
        for node in ast.walk(tree):
            if isinstance(node, ast.List | ast.Tuple):
                items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                modules |= {b for a, b in itertools.pairwise(items) if a == "-m"}
    return any(str(module).split(".")[0] == "pttour" for module in modules)


# The first tutorial that imports pttour: run once before pttour is installed.
NEEDS_PTTOUR = next(name for name in TUTORIALS if imports_pttour(name))
SUFFIXES = (".py", ".ipynb")
RUN_TIMEOUT_S = 900  # generous: a tutorial takes seconds on a laptop; CI machines are slower
OUTPUT_TAIL_CHARS = 4000
NOTEBOOK_INSTALL = "%pip install"  # the notebooks' first cell installs what is missing

# Executes every cell of a notebook in the "python3" kernel, then saves the outputs into it.
# jupyter_client starts that kernel with the interpreter running this code: the reader's.
_NOTEBOOK_RUNNER = """
import sys

import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": "."}}
    ).execute()
finally:
    nbformat.write(notebook, sys.argv[1])
"""


# -- the built site ------------------------------------------------------------------------------


def site_is_built() -> bool:
    return all((SITE / lang / "index.html").is_file() for lang in LANGUAGES)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not urlsplit(href).scheme:
            self.hrefs.append(href)


class _Outputs(HTMLParser):
    """The text of each ``.sphx-glr-script-out`` block's ``<pre>``, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._depth = 0  # open elements inside the current output block; 0: outside
        self._in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth:
            self._depth += tag not in _VOID
            if tag == "pre":
                self._in_pre = True
                self.blocks.append("")
        elif "sphx-glr-script-out" in (dict(attrs).get("class") or "").split():
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1
            if tag == "pre":
                self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.blocks[-1] += data


_VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "source", "col", "area", "base"}


def page_outputs(page: Path) -> list[str]:
    """What a built tutorial page shows as its code's outputs, block by block, in order."""
    parser = _Outputs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.blocks


def download(lang: str, name: str, suffix: str) -> Path | None:
    """The file that tutorial page ``name`` in ``lang`` offers as its ``suffix`` download."""
    page = SITE / lang / GALLERY / f"{name}.html"
    if not page.is_file():
        return None
    links = _Links()
    links.feed(page.read_text(encoding="utf-8"))
    for href in links.hrefs:
        target = (page.parent / unquote(urlsplit(href).path)).resolve()
        stem = name if lang == "en" else f"{name}_{lang}"  # the Chinese files carry the language
        if target.name == f"{stem}{suffix}" and target.is_file():
            return target
    return None


@dataclass(frozen=True)
class Wheel:
    """pttour's wheel on the site, and what its metadata says."""

    path: Path
    version: str
    site_url: str  # [project.urls] Documentation
    torch_minimum: str  # the lower bound of torch in the dependencies

    @property
    def url(self) -> str:
        """Its address on the published site."""
        return f"{self.site_url}{self.path.relative_to(SITE).as_posix()}"

    def install_page(self, lang: str) -> str:
        return f"{self.site_url}{lang}/install.html"


def site_wheel() -> Wheel:
    """The one wheel under ``dist/`` of the built site."""
    wheels = sorted((SITE / "dist").glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {SITE / 'dist'}, found {wheels}"
    with zipfile.ZipFile(wheels[0]) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata: email.message.Message = email.parser.BytesParser().parsebytes(archive.read(name))
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    (torch,) = [
        Requirement(line)
        for line in metadata.get_all("Requires-Dist") or []
        if Requirement(line).name == "torch"
    ]
    (minimum,) = [spec.version for spec in torch.specifier if spec.operator == ">="]
    return Wheel(wheels[0], metadata["Version"], urls["Documentation"], minimum)


def executed_code(path: Path) -> bytes:
    """What running ``path`` executes: files that agree on it behave the same when run.

    For a script, its syntax tree without the module docstring (prose, as the comments are);
    for a notebook, its code cells. A Chinese download, whose code is the English one's
    (``tests/browser/test_downloads.py`` checks it), thus runs once for both languages.

    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "en.py").write_text("'Tensors'\\nx = 1  # one\\n")
    >>> _ = (folder / "zh.py").write_text("'张量'\\nx = 1  # 一\\n")
    >>> _ = (folder / "other.py").write_text("'Tensors'\\nx = 2  # one\\n")
    >>> executed_code(folder / "en.py") == executed_code(folder / "zh.py")
    True
    >>> executed_code(folder / "en.py") == executed_code(folder / "other.py")
    False
    >>> shutil.rmtree(folder)
    """
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        cells = json.loads(data)["cells"]
        return json.dumps([c["source"] for c in cells if c["cell_type"] == "code"]).encode()
    module = ast.parse(data)
    if ast.get_docstring(module, clean=False) is not None and b"__doc__" not in data:
        module.body = module.body[1:]
    return ast.dump(module).encode()


def notebook_code(path: Path) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def notebook_runs_its_script(notebook: Path, script: Path) -> bool:
    """Whether the notebook's code, after its install cell, is the script's code.

    Compared as syntax trees, so comments, blank lines and the cutting into cells do not
    count; a cell that is not plain Python (an IPython magic) makes them differ.

    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.py").write_text('"Title"\\nx = 1  # one\\n\\nprint(x)\\n')
    >>> def notebook(*cells):
    ...     code = [{"cell_type": "code", "source": c} for c in cells]
    ...     _ = (folder / "n.ipynb").write_text(json.dumps({"cells": code}))
    ...     return folder / "n.ipynb"
    >>> notebook_runs_its_script(notebook("%pip install x", "x = 1", "print(x)"), folder / "s.py")
    True
    >>> notebook_runs_its_script(notebook("%pip install x", "x = 2", "print(x)"), folder / "s.py")
    False
    >>> notebook_runs_its_script(notebook("%pip install x", "x = 1", "%time x"), folder / "s.py")
    False
    >>> shutil.rmtree(folder)
    """
    cells = notebook_code(notebook)
    if not cells or NOTEBOOK_INSTALL not in cells[0]:
        return False
    try:
        code = ast.parse("\n\n".join(cells[1:]))
    except SyntaxError:
        return False
    return ast.dump(code).encode() == executed_code(script)


# -- the reader's Python ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one run ended."""

    command: str
    returncode: int
    output: str  # the end of stdout, then the end of stderr
    notebook: dict | None = None  # a notebook as it was after the run, with its outputs
    stdout: str = ""  # everything it printed


class Reader:
    """A reader's venv: pip in it, and a pool of runs keyed by what the files execute."""

    def __init__(self, python: Path, workers: int) -> None:
        self.python = python
        self.prefix = python.parent.parent
        self.without_pttour: Outcome | None = None  # a run made before pttour was installed
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="download-run")
        self._futures: dict[str, Future[Outcome]] = {}
        self._processes: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def env(self, workdir: Path) -> dict[str, str]:
        """A reader's shell with the venv active, writing nothing outside ``workdir``."""
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
        runner = sysconfig.get_path("scripts")  # the test runner's venv: not the reader's
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != runner]
        return {
            **env,
            "VIRTUAL_ENV": str(self.prefix),
            "PATH": os.pathsep.join([str(self.python.parent), *path]),
            "OMP_NUM_THREADS": "1",  # the runs share the machine's cores with each other
            "MPLBACKEND": "Agg",  # figures are drawn, never shown
            "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTER_CONFIG_DIR": str(workdir / ".jupyter"),
            "JUPYTER_DATA_DIR": str(workdir / ".jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter-runtime"),
            "IPYTHONDIR": str(workdir / ".ipython"),
            "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        }

    def pip(self, *args: str) -> str:
        """Run pip in the reader's venv, never reaching a package index; return its output."""
        result = subprocess.run(
            [str(self.python), "-m", "pip", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PIP_NO_INDEX": "1"},
            timeout=RUN_TIMEOUT_S,
        )
        assert result.returncode == 0, f"pip {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def _key(self, path: Path) -> str:
        return hashlib.sha256(executed_code(path)).hexdigest() + path.suffix

    def start(self, path: Path) -> None:
        """Queue a run of ``path``, unless a file that executes the same code is queued."""
        key = self._key(path)
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._executor.submit(self.run, path)

    def outcome(self, path: Path) -> Outcome:
        """Wait for the run of ``path`` (starting it if needed) and return how it ended."""
        self.start(path)
        return self._futures[self._key(path)].result()

    def close(self) -> None:
        """Drop the queued runs and end those still running (the ones this pool started)."""
        with self._lock:
            self._closed = True
            running = list(self._processes)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in running:
            process.kill()

    def run(self, path: Path) -> Outcome:
        """Run one script or notebook now, from a temporary folder of its own."""
        workdir = Path(tempfile.mkdtemp(prefix=f"pttour-{path.stem}-"))
        try:
            copy = workdir / path.name  # a reader runs the file from a folder of their own
            shutil.copyfile(path, copy)
            if path.suffix == ".ipynb":
                command = [str(self.python), "-c", _NOTEBOOK_RUNNER, copy.name]
            else:
                command = [str(self.python), copy.name]
            outcome = self._execute(command, workdir)
            if path.suffix == ".ipynb":
                notebook = json.loads(copy.read_text(encoding="utf-8"))
                outcome = Outcome(
                    outcome.command, outcome.returncode, outcome.output, notebook, outcome.stdout
                )
            return outcome
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _execute(self, command: list[str], workdir: Path) -> Outcome:
        shown = " ".join(c if "\n" not in c else "<nbclient>" for c in command)
        with self._lock:
            if self._closed:
                return Outcome(shown, -1, "not run: the test session ended first")
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=self.env(workdir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            self._processes.add(process)
        try:
            stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            stderr += f"\n[killed after {RUN_TIMEOUT_S} s]"
        finally:
            with self._lock:
                self._processes.discard(process)
        half = OUTPUT_TAIL_CHARS // 2
        output = stdout[-half:] + (f"\n[stderr]\n{stderr[-half:]}" if stderr.strip() else "")
        return Outcome(shown, process.returncode, output, stdout=stdout)
