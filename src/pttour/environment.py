"""What is installed, whether pttour supports it, and what to install when it does not.

Setting up PyTorch goes wrong quietly: a Python too old for current wheels, a CPU-only torch on
a machine with a GPU, a GPU torch cannot see. :func:`collect_environment` gathers the facts into
an :class:`EnvironmentReport` (``python -m pttour env`` prints it). The oldest Python and torch
supported are the lower bounds in pttour's metadata (pyproject.toml).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.torch_version import TorchVersion

from pttour import _checks
from pttour.errors import UnsupportedEnvironmentError

__all__ = [
    "MIN_PYTHON",
    "MIN_TORCH",
    "DeviceInfo",
    "EnvironmentReport",
    "collect_environment",
    "require_supported",
]


def _lower_bound(requirement: str | None) -> tuple[int, int]:
    """The (major, minor) of a requirement's ``>=`` bound, as in ">=3.10" or "torch>=2.6"."""
    bound = re.search(r">=\s*(\d+)\.(\d+)", requirement or "")
    if bound is None:
        raise ImportError(
            f"pttour's metadata declares no lower bound in {requirement!r}; reinstall pttour "
            "(pip install -e . in a checkout)"
        )
    return int(bound[1]), int(bound[2])


def _requirements() -> tuple[str | None, list[str]]:
    """pttour's Requires-Python and Requires-Dist; pyproject.toml's in a bare checkout."""
    try:
        metadata = importlib.metadata.metadata("pttour")
        return metadata["Requires-Python"], metadata.get_all("Requires-Dist") or []
    except importlib.metadata.PackageNotFoundError:
        import tomllib  # Python >= 3.11; an installed pttour on 3.10 has its metadata

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        return project["requires-python"], project["dependencies"]


_REQUIRES_PYTHON, _REQUIRES = _requirements()
#: Oldest Python pttour supports (the oldest that current torch wheels are built for).
MIN_PYTHON: tuple[int, int] = _lower_bound(_REQUIRES_PYTHON)
#: Oldest torch pttour supports: the first release whose ``torch.load`` defaults to
#: ``weights_only=True``, which the checkpoint module relies on.
MIN_TORCH: tuple[int, int] = _lower_bound(next((r for r in _REQUIRES if r[:5] == "torch"), None))

# "2.13.0+cpu", "2.6.0.dev20250101", "3.13.0rc1": a release, a nightly or a candidate of
# major.minor all count as major.minor; ".dev0" is the lowest version of a release.
_MAJOR_MINOR = re.compile(r"\d+\.\d+")


@dataclass(frozen=True)
class DeviceInfo:
    """One device that torch can compute on: the CPU always, CUDA GPUs and MPS when usable.

    >>> collect_environment().devices[0].kind
    'cpu'
    """

    kind: str
    index: int
    name: str
    total_memory_bytes: int | None


@dataclass(frozen=True)
class EnvironmentReport:
    """The Python, torch build and devices in use, with the reasons pttour cannot run here.

    Printed for a person (:meth:`to_text`), JSON for a bug report (:meth:`to_dict`), or
    checked by code (:attr:`supported`).

    >>> report = collect_environment()
    >>> report.python_version == platform.python_version(), report.supported, report.problems
    (True, True, ())
    """

    python_version: str
    torch_version: str
    build: str
    cuda_version: str | None
    cudnn_version: int | None
    mps_available: bool
    devices: tuple[DeviceInfo, ...]
    num_threads: int
    min_python: tuple[int, int]
    min_torch: tuple[int, int]
    problems: tuple[str, ...]

    @property
    def supported(self) -> bool:
        """True when pttour supports this Python and torch (no problems were found)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-serialisable data."""
        return dataclasses.asdict(self) | {
            "devices": [dataclasses.asdict(device) for device in self.devices],
            "min_python": "{}.{}".format(*self.min_python),
            "min_torch": "{}.{}".format(*self.min_torch),
            "supported": self.supported,
            "problems": list(self.problems),
        }

    def to_text(self) -> str:
        """Return an aligned report for a person (``pttour env`` prints it); problems come last."""
        rows = [
            ("Python", f"{self.python_version} (needs >= {'{}.{}'.format(*self.min_python)})"),
            ("torch", f"{self.torch_version} (needs >= {'{}.{}'.format(*self.min_torch)})"),
            ("build", self.build),
            ("CUDA", self.cuda_version or "none"),
            ("cuDNN", "none" if self.cudnn_version is None else str(self.cudnn_version)),
            ("MPS", "available" if self.mps_available else "not available"),
            ("CPU threads", str(self.num_threads)),
        ]
        # The CPU has one logical device, so an index would only add noise.
        labels = [d.kind if d.kind == "cpu" else f"{d.kind}:{d.index}" for d in self.devices]
        label_width = max(len(label) for label in labels)
        for position, (label, device) in enumerate(zip(labels, self.devices, strict=True)):
            memory = device.total_memory_bytes
            description = device.name + ("" if memory is None else f", {memory / 2**30:.1f} GiB")
            rows.append(("" if position else "devices", f"{label:<{label_width}}  {description}"))
        rows.append(("supported", "yes" if self.supported else "no"))
        rows.extend(("problem", problem) for problem in self.problems)
        width = max(len(label) for label, _ in rows) + 2
        lines = ["pttour environment report"]
        lines.extend(f"  {label:<{width}}{value}".rstrip() for label, value in rows)
        return "\n".join(lines)


def _version_problems(python_version: str, torch_version: str) -> list[str]:
    """What is too old among two version strings (``"2.6.0a0+git123"`` counts as 2.6), so
    that old setups are tested without installing them."""
    problems = []
    for what, version, minimum in (("Python", python_version, MIN_PYTHON),
                                   ("torch", torch_version, MIN_TORCH)):  # fmt: skip
        if not isinstance(version, str) or not _MAJOR_MINOR.match(version):
            raise ValueError(
                f"cannot read a {what} version from {version!r}; expected 'major.minor...', "
                "e.g. '2.6.0'"
            )
        floor = "{}.{}".format(*minimum)
        if TorchVersion(version) >= f"{floor}.dev0":
            continue
        problems.append(
            f"Python {version} is older than the {floor} pttour supports; create a virtual "
            f"environment with Python {floor} or newer (e.g. python3.12 -m venv .venv) and "
            f"install pttour there"
            if what == "Python"
            else f"torch {version} is older than the {floor} pttour supports; install a newer "
            f"one with: pip install 'torch>={floor}'"
        )
    return problems


def collect_environment() -> EnvironmentReport:
    """Gather the Python, torch build and usable devices into an :class:`EnvironmentReport`.

    Nothing is cached: the report describes the process as it is now.

    >>> report = collect_environment()
    >>> report.torch_version == torch.__version__, report.devices[0].kind
    (True, 'cpu')
    """
    python_version = platform.python_version()
    torch_version = str(torch.__version__)
    cuda_version, hip_version = torch.version.cuda, getattr(torch.version, "hip", None)
    build = (
        f"CUDA {cuda_version}" if cuda_version else f"ROCm {hip_version}" if hip_version else None
    )
    build = build or ("MPS" if torch.backends.mps.is_built() else "CPU-only")
    mps_available = torch.backends.mps.is_available()

    devices = [DeviceInfo("cpu", 0, _cpu_name(), _system_memory_bytes())]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            devices.append(DeviceInfo("cuda", index, properties.name, properties.total_memory))
    if mps_available:
        devices.append(DeviceInfo("mps", 0, "Apple Metal (MPS)", None))

    return EnvironmentReport(
        python_version=python_version,
        torch_version=torch_version,
        build=build,
        cuda_version=cuda_version,
        cudnn_version=torch.backends.cudnn.version(),
        mps_available=mps_available,
        devices=tuple(devices),
        num_threads=torch.get_num_threads(),
        min_python=MIN_PYTHON,
        min_torch=MIN_TORCH,
        problems=tuple(_version_problems(python_version, torch_version)),
    )


def require_supported(report: EnvironmentReport | None = None) -> EnvironmentReport:
    """Return the environment report, or raise if pttour does not support this environment.

    Call it at the start of a script: an old torch fails with one sentence saying what to install.

    >>> require_supported().supported
    True
    """
    if report is None:
        report = collect_environment()
    what, fix = "an EnvironmentReport or None", "call require_supported() to check this environment"
    _checks.require_type("report", report, EnvironmentReport, what, fix)
    if report.problems:
        # One problem per line: each ends with a command that should stay copy-pastable.
        raise UnsupportedEnvironmentError("\n".join(report.problems))
    return report


def _cpu_name() -> str:
    """The CPU model name; platform.processor() is often empty on Linux, hence /proc."""
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        if found := re.search(r"^model name\s*:\s*(\S.*)$", cpuinfo, re.MULTILINE):
            return found[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _system_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX (Windows), or not exposed
        return None
