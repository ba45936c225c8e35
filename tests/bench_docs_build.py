"""What the bilingual site costs to build next to running its tutorials (a benchmark, not a test).

Run it from the repository root in the docs environment, after ``nox -s docs`` made one:
``.nox/docs/bin/python tests/bench_docs_build.py``. In one run, side by side, it measures

* each tutorial run with plain ``python`` (``MPLBACKEND=Agg``, in a temporary folder), and
  their sum S: the least any build that runs them can cost;
* a clean build of both languages, the way ``nox -s docs`` builds them (English runs the
  tutorials, Chinese reuses their output with ``plot_gallery=0``), after deleting
  ``docs/_build`` and the generated ``docs/auto_tutorials``;
* a rebuild of each language with nothing changed.

It prints every timing and compares the clean build with 1.5 × S + 60 s, the project's bound.
Nothing is asserted: timings depend on the machine. Both the tutorials and the build compile
with ``torch.compile`` and share the inductor cache, so the first of them to run pays the
compilation; the tutorials run first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"


def timed(command: list[str], **kwargs: object) -> float:
    """Seconds ``command`` took; raises if it failed."""
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started


def sphinx(language: str, *extra: str) -> list[str]:
    """The command ``nox -s docs`` runs for one language (warnings are errors)."""
    return [
        *(sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"),
        *("-D", f"language={language}", "-d", str(BUILD / "doctrees" / language), *extra),
        *(str(DOCS), str(BUILD / "html" / language)),
    ]


def main() -> None:
    env = os.environ | {"MPLBACKEND": "Agg"}
    tutorials = sorted((DOCS / "tutorials").glob("plot_*.py"))
    plain = {}
    with tempfile.TemporaryDirectory() as folder:
        for script in tutorials:
            plain[script.stem] = timed(
                [sys.executable, str(script)], cwd=folder, env=env, stdout=subprocess.DEVNULL
            )
            print(f"python {script.name:<40} {plain[script.stem]:6.1f} s", flush=True)
    total = sum(plain.values())
    shutil.rmtree(BUILD, ignore_errors=True)
    shutil.rmtree(DOCS / "auto_tutorials", ignore_errors=True)
    clean = {
        "en": timed(sphinx("en"), cwd=ROOT, env=env),
        "zh_CN": timed(sphinx("zh_CN", "-D", "plot_gallery=0"), cwd=ROOT, env=env),
    }
    again = {
        "en": timed(sphinx("en"), cwd=ROOT, env=env),
        "zh_CN": timed(sphinx("zh_CN", "-D", "plot_gallery=0"), cwd=ROOT, env=env),
    }
    bound = 1.5 * total + 60
    print(f"\n{len(tutorials)} tutorials with plain python, S: {total:.1f} s")
    for language, seconds in clean.items():
        print(f"clean build, {language:<6}  {seconds:6.1f} s")
    both = sum(clean.values())
    print(f"clean build, both    {both:6.1f} s  (bound 1.5 × S + 60 = {bound:.1f} s)")
    for language, seconds in again.items():
        print(f"no-change rebuild, {language:<6} {seconds:5.1f} s")


if __name__ == "__main__":
    main()
