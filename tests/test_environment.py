"""Tests for pttour.environment: version checks, the report, and require_supported."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import sys
from pathlib import Path

import pytest
import torch

from pttour import environment
from pttour.environment import (
    MIN_PYTHON,
    MIN_TORCH,
    DeviceInfo,
    EnvironmentReport,
    collect_environment,
    require_supported,
)
from pttour.errors import UnsupportedEnvironmentError

FLOOR = "{}.{}".format(*MIN_TORCH)
PYTHON_FLOOR = "{}.{}".format(*MIN_PYTHON)
OLD_TORCH_SENTENCE = (
    f"torch 2.1.0 is older than the {FLOOR} pttour supports; "
    f"install a newer one with: pip install 'torch>={FLOOR}'"
)
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
version_problems = environment._version_problems  # private: collect_environment's rule


def _unsupported(report: EnvironmentReport, python: str, torch_version: str) -> EnvironmentReport:
    return dataclasses.replace(
        report,
        python_version=python,
        torch_version=torch_version,
        problems=tuple(version_problems(python, torch_version)),
    )


def test_minimum_versions_are_the_lower_bounds_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">={}.{}".format(*MIN_PYTHON)
    assert "torch>={}.{}".format(*MIN_TORCH) in project["dependencies"]


def test_minimum_versions_without_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from a checkout with PYTHONPATH=src (a bare GPU machine): pyproject.toml answers.
    def not_installed(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    python, requires = environment._requirements()
    monkeypatch.setattr(importlib.metadata, "metadata", not_installed)
    from_pyproject = environment._requirements()
    # The build backend may list Requires-Dist in another order than pyproject.toml.
    assert (from_pyproject[0], sorted(from_pyproject[1])) == (python, sorted(requires))


@pytest.mark.parametrize("requirement", ["torch", "torch<3", None])
def test_minimum_versions_need_a_declared_lower_bound(requirement: str | None) -> None:
    with pytest.raises(ImportError, match="declares no lower bound"):
        environment._lower_bound(requirement)
    assert environment._lower_bound("torch >= 2.6.1, <3") == (2, 6)


@pytest.mark.parametrize(
    ("python", "torch_version"),
    [
        (f"{PYTHON_FLOOR}.0", f"{FLOOR}.0"),
        ("3.11.7", "2.13.0+cpu"),
        ("3.13.0rc1", f"{FLOOR}.0a0+git1234abc"),
        ("3.12.1", "2.11.0+cu128"),
        ("4.0", "3.0"),
    ],
)
def test_supported_versions_have_no_problems(python: str, torch_version: str) -> None:
    assert version_problems(python, torch_version) == []


def test_versions_compare_as_numbers_not_strings() -> None:
    # As strings "2.10" < "2.6" and "3.9" > "3.10"; both would be judged wrongly.
    assert version_problems("3.10.2", "2.10.0") == []
    assert len(version_problems("3.9.18", f"{FLOOR}.0")) == 1


def test_old_torch_sentence_says_what_to_install() -> None:
    assert version_problems("3.11.7", "2.1.0") == [OLD_TORCH_SENTENCE]


def test_old_python_sentence_names_versions_and_fix() -> None:
    (problem,) = version_problems("3.9.18", "2.13.0")
    assert problem.startswith(f"Python 3.9.18 is older than the {PYTHON_FLOOR} pttour supports;")
    assert "venv" in problem


def test_both_too_old_lists_python_first() -> None:
    problems = version_problems("3.8.10", "1.13.1+cu117")
    assert len(problems) == 2
    assert problems[0].startswith("Python 3.8.10")
    assert problems[1].startswith("torch 1.13.1+cu117")


@pytest.mark.parametrize("bad", ["", "two.six", "2", "latest"])
def test_unreadable_version_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot read a torch version from"):
        version_problems("3.11.0", bad)


def test_collect_environment_describes_this_process() -> None:
    report = collect_environment()
    assert report.python_version == platform.python_version()
    assert report.torch_version == torch.__version__
    assert report.cuda_version == torch.version.cuda
    assert report.build.startswith("CUDA ") == (torch.version.cuda is not None)
    assert report.num_threads == torch.get_num_threads()
    assert report.mps_available == torch.backends.mps.is_available()
    assert (report.min_python, report.min_torch) == (MIN_PYTHON, MIN_TORCH)
    assert report.supported
    assert report.problems == ()


def test_devices_start_with_the_cpu_and_match_torch() -> None:
    devices = collect_environment().devices
    assert devices[0].kind == "cpu"
    assert devices[0].name
    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert [d.index for d in devices if d.kind == "cuda"] == list(range(cuda_count))
    assert any(d.kind == "mps" for d in devices) == torch.backends.mps.is_available()


def test_to_dict_round_trips_through_json() -> None:
    report = collect_environment()
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["torch_version"] == torch.__version__
    assert data["min_python"] == PYTHON_FLOOR
    assert data["min_torch"] == FLOOR
    assert data["supported"] is True
    assert data["devices"][0] == dataclasses.asdict(report.devices[0])


def test_to_text_is_aligned_and_complete() -> None:
    report = collect_environment()
    lines = report.to_text().splitlines()
    assert lines[0] == "pttour environment report"
    rows = lines[1:]
    assert all(line.startswith("  ") for line in rows)
    # Every value, including a second device row with no label, starts in one column.
    column = rows[0].index(report.python_version)
    for line in rows:
        assert line[column - 2 : column] == "  "
        assert line[column] != " "
    text = report.to_text()
    assert report.python_version in text
    assert report.torch_version in text
    assert "supported    yes" in text


def test_to_text_lists_problems_of_an_unsupported_report() -> None:
    report = _unsupported(collect_environment(), "3.11.7", "2.1.0")
    assert not report.supported
    text = report.to_text()
    assert "supported    no" in text
    assert f"problem      {OLD_TORCH_SENTENCE}" in text


def test_to_text_shows_gpu_memory_in_gib() -> None:
    gpu = DeviceInfo("cuda", 0, "Example GPU", 80 * 2**30)
    report = dataclasses.replace(
        collect_environment(), devices=(DeviceInfo("cpu", 0, "x", None), gpu)
    )
    text = report.to_text()
    assert "cuda:0  Example GPU, 80.0 GiB" in text
    assert "cpu     x" in text


def test_require_supported_returns_the_report() -> None:
    report = collect_environment()
    assert require_supported(report) is report
    assert require_supported().supported


def test_require_supported_raises_one_sentence_per_problem() -> None:
    report = _unsupported(collect_environment(), "3.11.7", "2.1.0")
    with pytest.raises(UnsupportedEnvironmentError) as caught:
        require_supported(report)
    assert str(caught.value) == OLD_TORCH_SENTENCE
    assert isinstance(caught.value, RuntimeError)

    both = _unsupported(collect_environment(), "3.9.1", "2.1.0")
    with pytest.raises(UnsupportedEnvironmentError) as caught:
        require_supported(both)
    assert str(caught.value).splitlines() == list(both.problems)


@pytest.mark.parametrize("report", ["report", {"problems": []}, 1])
def test_require_supported_names_a_report_of_the_wrong_type(report: object) -> None:
    with pytest.raises(TypeError, match=r"^report must be an EnvironmentReport or None, got "):
        require_supported(report)  # type: ignore[arg-type]


def test_collect_environment_reads_torch_version_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch, "__version__", "2.1.0")
    report = collect_environment()
    assert report.problems == (OLD_TORCH_SENTENCE,)


@pytest.mark.cuda
def test_gpu_devices_are_listed_with_names_and_memory() -> None:
    report = collect_environment()
    gpus = [d for d in report.devices if d.kind == "cuda"]
    assert len(gpus) == torch.cuda.device_count() >= 1
    for gpu in gpus:
        assert gpu.name == torch.cuda.get_device_name(gpu.index)
        assert gpu.total_memory_bytes is not None
        assert gpu.total_memory_bytes > 0
    assert report.build.startswith(("CUDA ", "ROCm "))
    assert "cuda:0" in report.to_text()
    print(report.to_text())
