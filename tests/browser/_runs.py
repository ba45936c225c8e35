"""Run downloaded tutorials as a reader would: the script with ``python``, the notebook in a kernel.

The runs are slow (each one imports torch), so they start in the background as soon as the tests
are collected (``conftest.pytest_collection_finish``), run side by side, one per CPU core, while
the browser tests run; the tests that check them collect the outcomes at the end. Files that
execute the same code (a Chinese download differs from the English one only in its prose) run
once: see ``executed_code``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

RUN_TIMEOUT_S = 900  # generous: a tutorial takes seconds on a laptop; CI machines are slower
OUTPUT_TAIL_CHARS = 4000

# Executes every cell of a notebook in the "python3" kernel, as Jupyter's "Run All" does.
# jupyter_client starts that kernel with the interpreter running this code: the test's venv.
_NOTEBOOK_RUNNER = """
import sys

import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(
    notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": "."}}
).execute()
"""


def executed_code(path: Path) -> bytes:
    """What running ``path`` executes: files that agree on it behave the same when run.

    For a script, its syntax tree without the module docstring (prose, as the comments are);
    for a notebook, its code cells. A translated download whose code is the English one's
    (``test_chinese_download_keeps_the_english_code``) is thus run once for both languages.
    Any file that cannot be read that way is keyed by its bytes, and runs on its own.
    """
    data = path.read_bytes()
    try:
        if path.suffix == ".ipynb":
            cells = json.loads(data)["cells"]
            code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
            return json.dumps(code).encode()
        module = ast.parse(data)
    except (SyntaxError, ValueError, KeyError, TypeError):
        return data
    first = module.body[0] if module.body else None
    is_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    if is_docstring and b"__doc__" not in data:  # code that reads its docstring keeps it
        module.body = module.body[1:]
    return ast.dump(module).encode()


@dataclass(frozen=True)
class Outcome:
    """How one run ended."""

    command: str
    returncode: int
    output: str  # the end of stdout and stderr, interleaved


class DownloadRuns:
    """A pool of background runs, keyed by the content of the file they run."""

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="download-run")
        self._futures: dict[str, Future[Outcome]] = {}
        self._processes: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _key(path: Path) -> str:
        return hashlib.sha256(executed_code(path)).hexdigest() + path.suffix

    def start(self, path: Path) -> None:
        """Queue a run of ``path`` unless one of a file with the same bytes is queued already."""
        key = self._key(path)
        with self._lock:
            if key not in self._futures:
                self._futures[key] = self._executor.submit(self._run, path)

    def outcome(self, path: Path) -> Outcome:
        """Wait for the run of ``path`` (starting it if needed) and return how it ended."""
        self.start(path)
        return self._futures[self._key(path)].result()

    def close(self) -> None:
        """Drop queued runs and end the ones still running (those this pool started)."""
        with self._lock:
            self._closed = True
            running = list(self._processes)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in running:
            process.kill()

    def _run(self, path: Path) -> Outcome:
        workdir = Path(tempfile.mkdtemp(prefix=f"pttour-{path.stem}-"))
        try:
            copy = workdir / path.name  # a reader runs the file from a folder of their own
            shutil.copyfile(path, copy)
            env = {
                **os.environ,
                # One thread each: the runs share the machine's cores with each other.
                "OMP_NUM_THREADS": "1",
                # Jupyter's files go to the temporary folder, not to the user's home.
                "JUPYTER_PLATFORM_DIRS": "1",
                "JUPYTER_CONFIG_DIR": str(workdir / ".jupyter"),
                "JUPYTER_DATA_DIR": str(workdir / ".jupyter-data"),
                "JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter-runtime"),
                "IPYTHONDIR": str(workdir / ".ipython"),
            }
            if path.suffix == ".ipynb":
                command = [sys.executable, "-c", _NOTEBOOK_RUNNER, copy.name]
            else:
                command = [sys.executable, copy.name]
                env["MPLBACKEND"] = "Agg"  # figures are drawn, never shown
            return self._execute(command, workdir, env)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _execute(self, command: list[str], workdir: Path, env: dict[str, str]) -> Outcome:
        shown = " ".join(
            command if "-c" not in command else [*command[:2], "<nbclient>", *command[3:]]
        )
        with self._lock:
            if self._closed:
                return Outcome(shown, -1, "not run: the test session ended first")
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            self._processes.add(process)
        try:
            output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            output += f"\n[killed after {RUN_TIMEOUT_S} s]"
        finally:
            with self._lock:
                self._processes.discard(process)
        return Outcome(shown, process.returncode, output[-OUTPUT_TAIL_CHARS:])


RUNS = DownloadRuns(workers=max(1, os.cpu_count() or 1))
