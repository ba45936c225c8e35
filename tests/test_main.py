"""Tests for the command line, ``python -m pttour env``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pttour
from pttour.__main__ import main
from pttour.environment import MIN_PYTHON, MIN_TORCH

FLOOR = "{}.{}".format(*MIN_TORCH)
OLD_TORCH_SENTENCE = (
    f"torch 2.1.0 is older than the {FLOOR} pttour supports; "
    f"install a newer one with: pip install 'torch>={FLOOR}'"
)


def _run_module(*args: str) -> subprocess.CompletedProcess[str]:
    # Put pttour's own source folder first, so the subprocess runs this checkout even
    # where the package is not installed.
    source_root = str(Path(pttour.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pttour", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_module_prints_text_report() -> None:
    result = _run_module("env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pttour environment report\n")
    assert torch.__version__ in result.stdout
    assert "supported    yes" in result.stdout
    assert result.stderr == ""


@pytest.mark.slow
def test_module_prints_json_report() -> None:
    result = _run_module("env", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["torch_version"] == torch.__version__
    assert data["python_version"] == platform.python_version()
    assert data["supported"] is True
    assert data["devices"][0]["kind"] == "cpu"


def test_main_in_process_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("pttour environment report")
    assert captured.err == ""


def test_unsupported_torch_exits_1_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch, "__version__", "2.1.0")
    assert main(["env"]) == 1
    captured = capsys.readouterr()
    assert captured.err == OLD_TORCH_SENTENCE + "\n"
    assert "Traceback" not in captured.err
    # The report itself still goes to stdout: it shows what was found.
    assert "supported    no" in captured.out


def test_unsupported_json_reports_the_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch, "__version__", "2.1.0")
    assert main(["env", "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["supported"] is False
    assert data["problems"] == [OLD_TORCH_SENTENCE]
    assert captured.err == OLD_TORCH_SENTENCE + "\n"


def test_unsupported_python_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(platform, "python_version", lambda: "3.9.18")
    assert main(["env"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "Python 3.9.18 is older than the {}.{} pttour supports;".format(*MIN_PYTHON)
    )
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["env", "--bogus"]])
def test_bad_arguments_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: pttour" in capsys.readouterr().err
