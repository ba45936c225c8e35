"""The GPU proof in one call: run it on a machine with a CUDA GPU, from a checkout.

    OUT=/some/folder python tests/gpu/run_on_device.py

It needs only torch, pytest, numpy, matplotlib and scikit-learn, and no network: pttour is
imported from ``src/`` (no install). In order, it

1. prints ``python -m pttour env --json`` (what it runs on);
2. runs the CUDA-marked tests, ``pytest -m cuda tests -q -rs``, with their JUnit XML in OUT;
3. runs every tutorial with plain ``python`` (``MPLBACKEND=Agg``), timing each;
4. times an ``n x n`` float32 matrix product with ``pttour.time_matmul``, on the CPU, on the GPU
   with the data already there, and on the GPU including the copies (the figure of the
   "Is the GPU faster?" section of the first tutorial);
5. writes everything to ``OUT/gpu_run.json``;

and exits with status 1 when a CUDA test or a tutorial failed, or a tutorial could not run
(``"not run: needs matplotlib"`` where a module is missing), after writing all it has. On a
machine without a GPU it is a rehearsal: the CUDA tests are reported as skipped, with their
reasons, every tutorial runs its CPU path, and the record says ``"device": "cpu"``.
``--tutorials REGEX`` runs only the tutorials whose file name matches.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[2]
SIZES = (2, 16, 128, 1024, 4096)  # a product's work grows as n**3, its copies as n**2
CPU_ONLY_SIZES = SIZES[:-1]  # 4096 takes seconds per product on a small CPU
TUTORIAL_TIMEOUT_S = 600


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def machine() -> dict[str, object]:
    """The device, its driver and CUDA version, and the software the run used."""
    import torch

    found: dict[str, object] = {
        "device": "cpu",
        "driver": None,
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "date": datetime.date.today().isoformat(),
    }
    if torch.cuda.is_available():
        found["device"] = torch.cuda.get_device_name(0)
        smi = shutil.which("nvidia-smi")
        if smi:
            query = [smi, "--query-gpu=driver_version", "--format=csv,noheader"]
            found["driver"] = subprocess.run(
                query, check=False, capture_output=True, text=True
            ).stdout.strip()
    return found


def cuda_tests(out: Path) -> dict[str, object]:
    """Run the CUDA-marked tests; their counts and the reasons of the skipped ones."""
    xml = out / "cuda-tests.xml"
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "tests", "-q", "-rs"]
    command += ["-p", "no:cacheprovider", f"--junitxml={xml}"]
    print("$", " ".join(command), flush=True)
    returncode = subprocess.run(command, check=False, cwd=ROOT, env=_env()).returncode
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    reasons: dict[str, int] = {}
    if xml.is_file():
        for case in ElementTree.parse(xml).getroot().iter("testcase"):
            outcome = next((child for child in case if child.tag != "system-out"), None)
            if outcome is None or outcome.tag == "properties":
                counts["passed"] += 1
            elif outcome.tag == "skipped":
                counts["skipped"] += 1
                reason = outcome.get("message", "")
                reasons[reason] = reasons.get(reason, 0) + 1
            elif outcome.tag == "error":
                counts["errors"] += 1
            else:
                counts["failed"] += 1
    return {"returncode": returncode, **counts, "skip_reasons": reasons}


def tutorials(pattern: str, out: Path) -> dict[str, dict[str, object]]:
    """Run each tutorial as a reader runs a downloaded script: status and seconds."""
    results: dict[str, dict[str, object]] = {}
    for script in sorted((ROOT / "docs" / "tutorials").glob("plot_*.py")):
        if not re.search(pattern, script.name):
            continue
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            try:
                run = subprocess.run(
                    [sys.executable, str(script)],
                    check=False,
                    cwd=folder,
                    env=_env(),
                    capture_output=True,
                    text=True,
                    timeout=TUTORIAL_TIMEOUT_S,
                )
                log = run.stdout + run.stderr
                missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", log)
                status = (
                    "passed"
                    if run.returncode == 0
                    else f"not run: needs {missing[1]}"
                    if missing
                    else "failed"
                )
            except subprocess.TimeoutExpired as expired:
                status, log = "timed out", str(expired)
            seconds = round(time.perf_counter() - started, 2)
        results[script.stem] = {"status": status, "seconds": seconds}
        (out / f"{script.stem}.log").write_text(log, encoding="utf-8")
        print(f"{script.stem}: {status} in {seconds:.1f} s", flush=True)
    return results


def benchmark() -> dict[str, object]:
    """Median seconds per ``n x n`` float32 product, as the first tutorial's figure shows."""
    import torch

    import pttour

    gpu = torch.cuda.is_available()
    rows = []
    for n in SIZES if gpu else CPU_ONLY_SIZES:
        row: dict[str, object] = {"n": n, "cpu_s": pttour.time_matmul(n, "cpu")}
        if gpu:
            row["gpu_s"] = pttour.time_matmul(n, "cuda")
            row["gpu_with_transfer_s"] = pttour.time_matmul(n, "cuda", include_transfer=True)
        rows.append(row)
    return {
        "what": "median seconds of one n x n float32 matrix product: on the CPU "
        f"({torch.get_num_threads()} threads), on the GPU with the data already there, and on "
        "the GPU including the copies of both inputs there and of the result back",
        "method": "pttour.time_matmul",
        "matmul_fp32": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=os.environ.get("OUT"), help="default: $OUT")
    parser.add_argument("--tutorials", default=".", help="regex on the tutorials' file names")
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("give a folder for the results: --out DIR or the environment variable OUT")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = subprocess.run(
        [sys.executable, "-m", "pttour", "env", "--json"],
        check=False,
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
    )
    print(env.stdout or env.stderr, flush=True)
    sys.path.insert(0, str(ROOT / "src"))
    record: dict[str, object] = machine()
    record["tests"] = cuda_tests(out)
    record["tutorials"] = tutorials(args.tutorials, out)
    record["benchmark"] = benchmark()
    (out / "gpu_run.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"written: {out / 'gpu_run.json'}")
    tests = record["tests"]
    failed = tests["failed"] + tests["errors"] or tests["returncode"] not in (0, 5)
    failed = failed or any(t["status"] != "passed" for t in record["tutorials"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
