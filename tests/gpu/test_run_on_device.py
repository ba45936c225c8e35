"""The device run rehearsed on the CPU, so that it cannot rot before a GPU is lent.

The full rehearsal runs every tutorial (minutes); here one tutorial stands for them, since
``nox -s downloads`` already runs every tutorial as a reader runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).with_name("run_on_device.py")
sys.path.insert(0, str(SCRIPT.parent))
import run_on_device

sys.path.pop(0)


@pytest.mark.slow
@pytest.mark.skipif(
    torch.cuda.is_available(), reason="a GPU is here: run tests/gpu/run_on_device.py itself"
)
def test_rehearsal_on_the_cpu_reports_the_cuda_tests_skipped_and_runs_a_tutorial(tmp_path):
    command = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--tutorials", "plot_02_"]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    record = json.loads((tmp_path / "gpu_run.json").read_text(encoding="utf-8"))
    assert record["device"] == "cpu"
    assert record["torch"] == torch.__version__
    tests = record["tests"]
    assert (tests["passed"], tests["failed"], tests["errors"]) == (0, 0, 0), tests
    assert tests["skipped"] > 0
    assert all(reason.strip() for reason in tests["skip_reasons"]), tests  # each says why
    assert sum(tests["skip_reasons"].values()) == tests["skipped"]
    assert (tmp_path / "cuda-tests.xml").is_file()
    assert list(record["tutorials"]) == ["plot_02_environment"]
    assert record["tutorials"]["plot_02_environment"]["status"] == "passed"
    rows = record["benchmark"]["matmul_fp32"]
    assert [row["n"] for row in rows] == list(run_on_device.CPU_ONLY_SIZES)
    assert all(row["cpu_s"] > 0 and set(row) == {"n", "cpu_s"} for row in rows)


def test_a_failed_tutorial_fails_the_run(tmp_path, monkeypatch):
    results = {"plot_99_x": {"status": "failed", "seconds": 0.1}}
    monkeypatch.setattr(run_on_device, "cuda_tests", lambda out: {"returncode": 5, "passed": 0,
                        "failed": 0, "errors": 0, "skipped": 0, "skip_reasons": {}})  # fmt: skip
    monkeypatch.setattr(run_on_device, "tutorials", lambda pattern, out: results)
    monkeypatch.setattr(run_on_device, "benchmark", lambda: {"matmul_fp32": []})
    assert run_on_device.main(["--out", str(tmp_path)]) == 1
    assert json.loads((tmp_path / "gpu_run.json").read_text())["tutorials"] == results


def test_the_run_needs_a_folder_for_its_results(monkeypatch, capsys):
    monkeypatch.delenv("OUT", raising=False)
    with pytest.raises(SystemExit):
        run_on_device.main([])
    assert "--out DIR or the environment variable OUT" in capsys.readouterr().err
