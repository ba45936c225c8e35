"""What is installed, whether pttour supports it, and what to install when it does not.

Setting up PyTorch goes wrong in quiet ways: an interpreter too old for current
wheels, a CPU-only torch on a machine with a GPU, or a GPU that torch cannot see.
:func:`collect_environment` gathers the facts that decide these questions into one
:class:`EnvironmentReport`; ``python -m pttour env`` prints it.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pttour.errors import UnsupportedEnvironmentError

__all__ = [
    "MIN_PYTHON",
    "MIN_TORCH",
    "DeviceInfo",
    "EnvironmentReport",
    "collect_environment",
    "require_supported",
    "version_problems",
]

#: Oldest Python pttour supports (the oldest that current torch wheels are built for).
MIN_PYTHON: tuple[int, int] = (3, 10)
#: Oldest torch pttour supports: the first release whose ``torch.load`` defaults to
#: ``weights_only=True``, which the checkpoint module relies on.
MIN_TORCH: tuple[int, int] = (2, 6)

# "2.13.0+cpu", "2.6.0a0+git123", "3.11.7", "3.13.0rc1": only major and minor matter.
_VERSION_PREFIX = re.compile(r"^\s*v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class DeviceInfo:
    """One device that torch can compute on.

    The CPU is always present; CUDA GPUs and Apple's MPS device appear only when
    torch can actually use them, so this list answers "where can my tensors go?".

    >>> cpu = collect_environment().devices[0]
    >>> cpu.kind, cpu.index
    ('cpu', 0)

    Parameters
    ----------
    kind : str
        ``"cpu"``, ``"cuda"`` or ``"mps"``, as in ``torch.device(kind)``.
    index : int
        Position among the devices of that kind (``cuda:1`` has index 1).
    name : str
        Human-readable model name, e.g. ``"NVIDIA H100 80GB HBM3"``.
    total_memory_bytes : int or None
        Memory of the device in bytes (system RAM for the CPU), None when unknown.
    """

    kind: str
    index: int
    name: str
    total_memory_bytes: int | None


@dataclass(frozen=True)
class EnvironmentReport:
    """The Python, torch build and devices in use, with the reasons pttour cannot run here.

    A single value that can be printed for a person (:meth:`to_text`), written as
    JSON for a bug report (:meth:`to_dict`), or checked by code (:attr:`supported`).

    >>> report = collect_environment()
    >>> report.python_version == platform.python_version()
    True
    >>> report.devices[0].kind
    'cpu'
    >>> report.supported, report.problems
    (True, ())

    Parameters
    ----------
    python_version : str
        The running interpreter's version, e.g. ``"3.11.7"``.
    torch_version : str
        ``torch.__version__``, e.g. ``"2.13.0+cpu"``.
    build : str
        What the torch wheel was compiled for: ``"CPU-only"``, ``"CUDA 12.8"``,
        ``"ROCm 6.3"`` or ``"MPS"``.
    cuda_version : str or None
        CUDA version torch was built with, None for non-CUDA builds.
    cudnn_version : int or None
        cuDNN version as torch reports it (e.g. ``90100``), None when absent.
    mps_available : bool
        Whether Apple's Metal (MPS) device is usable.
    devices : tuple of DeviceInfo
        Usable devices, the CPU first.
    num_threads : int
        Threads torch uses for CPU operations.
    min_python, min_torch : tuple of int
        The oldest supported versions, :data:`MIN_PYTHON` and :data:`MIN_TORCH`.
    problems : tuple of str
        One sentence per problem, each saying what to install; empty when supported.
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
        """True when pttour supports this Python and torch (no problems were found).

        >>> collect_environment().supported
        True
        """
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-serialisable data.

        Tuples become lists and minimum versions become ``"major.minor"`` strings,
        so ``json.dumps(report.to_dict())`` works and reads well in a bug report.

        >>> import json
        >>> data = json.loads(json.dumps(collect_environment().to_dict()))
        >>> data["min_torch"], data["devices"][0]["kind"], data["supported"]
        ('2.6', 'cpu', True)

        Returns
        -------
        dict
            Every field, plus ``"supported"``.
        """
        return {
            "python_version": self.python_version,
            "torch_version": self.torch_version,
            "build": self.build,
            "cuda_version": self.cuda_version,
            "cudnn_version": self.cudnn_version,
            "mps_available": self.mps_available,
            "devices": [dataclasses.asdict(device) for device in self.devices],
            "num_threads": self.num_threads,
            "min_python": _format_version(self.min_python),
            "min_torch": _format_version(self.min_torch),
            "supported": self.supported,
            "problems": list(self.problems),
        }

    def to_text(self) -> str:
        """Return a short, aligned report for a person to read.

        The labels line up so the versions can be compared at a glance; problems,
        if any, come last with the command that fixes them.

        >>> print(collect_environment().to_text())
        pttour environment report
          Python       ... (needs >= 3.10)
          torch        ... (needs >= 2.6)
          build        ...
          devices      cpu ...
          supported    yes

        Returns
        -------
        str
            Several lines, without a trailing newline.
        """
        rows = [
            ("Python", f"{self.python_version} (needs >= {_format_version(self.min_python)})"),
            ("torch", f"{self.torch_version} (needs >= {_format_version(self.min_torch)})"),
            ("build", self.build),
            ("CUDA", self.cuda_version or "none"),
            ("cuDNN", "none" if self.cudnn_version is None else str(self.cudnn_version)),
            ("MPS", "available" if self.mps_available else "not available"),
            ("CPU threads", str(self.num_threads)),
        ]
        labels = [_device_label(device) for device in self.devices]
        label_width = max(len(label) for label in labels)
        for position, (label, device) in enumerate(zip(labels, self.devices, strict=True)):
            description = device.name
            if device.total_memory_bytes is not None:
                description += f", {device.total_memory_bytes / 2**30:.1f} GiB"
            rows.append(
                ("devices" if position == 0 else "", f"{label:<{label_width}}  {description}")
            )
        rows.append(("supported", "yes" if self.supported else "no"))
        rows.extend(("problem", problem) for problem in self.problems)
        width = max(len(label) for label, _ in rows) + 2
        lines = ["pttour environment report"]
        lines.extend(f"  {label:<{width}}{value}".rstrip() for label, value in rows)
        return "\n".join(lines)


def version_problems(python_version: str, torch_version: str) -> list[str]:
    """List what is too old among a Python version and a torch version.

    A pure function of two version strings, so unsupported setups can be checked
    (and tested) without installing them. Local and pre-release suffixes are
    ignored: ``"2.6.0a0+git123"`` counts as torch 2.6.

    >>> version_problems("3.11.7", "2.13.0+cpu")
    []
    >>> version_problems("3.11.7", "2.1.0")
    ["torch 2.1.0 is older than the 2.6 pttour supports; install a newer one with: pip install 'torch>=2.6'"]

    Parameters
    ----------
    python_version : str
        e.g. ``platform.python_version()``.
    torch_version : str
        e.g. ``torch.__version__``.

    Returns
    -------
    list of str
        One sentence per problem, Python first; empty when both are supported.

    Raises
    ------
    ValueError
        If a string does not start with ``major.minor``.
    """
    problems = []
    if _parse_version(python_version, "Python") < MIN_PYTHON:
        minimum = _format_version(MIN_PYTHON)
        problems.append(
            f"Python {python_version} is older than the {minimum} pttour supports; "
            f"create a virtual environment with Python {minimum} or newer "
            f"(e.g. python3.12 -m venv .venv) and install pttour there"
        )
    if _parse_version(torch_version, "torch") < MIN_TORCH:
        minimum = _format_version(MIN_TORCH)
        problems.append(
            f"torch {torch_version} is older than the {minimum} pttour supports; "
            f"install a newer one with: pip install 'torch>={minimum}'"
        )
    return problems


def collect_environment() -> EnvironmentReport:
    """Gather the Python, torch build and usable devices into an :class:`EnvironmentReport`.

    Reads everything at call time (nothing is cached), so the report describes the
    process as it is now, e.g. after ``CUDA_VISIBLE_DEVICES`` was set.

    >>> report = collect_environment()
    >>> report.torch_version == torch.__version__
    True
    >>> report.build.startswith("CUDA") == (report.cuda_version is not None)
    True

    Returns
    -------
    EnvironmentReport
        The report; check :attr:`EnvironmentReport.supported` or call :func:`require_supported`.
    """
    python_version = platform.python_version()
    torch_version = str(torch.__version__)
    cuda_version = torch.version.cuda
    hip_version = getattr(torch.version, "hip", None)
    if cuda_version:
        build = f"CUDA {cuda_version}"
    elif hip_version:
        build = f"ROCm {hip_version}"
    elif torch.backends.mps.is_built():
        build = "MPS"
    else:
        build = "CPU-only"
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
        problems=tuple(version_problems(python_version, torch_version)),
    )


def require_supported(report: EnvironmentReport | None = None) -> EnvironmentReport:
    """Return the environment report, or raise if pttour does not support this environment.

    Call it once at the start of a script so an old torch fails with one sentence
    that says what to install, instead of an obscure error deep inside a tutorial.

    >>> require_supported().supported
    True

    Parameters
    ----------
    report : EnvironmentReport, optional
        A report to check; by default :func:`collect_environment` is called.

    Returns
    -------
    EnvironmentReport
        The checked report.

    Raises
    ------
    UnsupportedEnvironmentError
        If Python or torch is too old; the message has one sentence per problem,
        each saying what to install.
    """
    if report is None:
        report = collect_environment()
    if report.problems:
        # One problem per line: each ends with a command that should stay copy-pastable.
        raise UnsupportedEnvironmentError("\n".join(report.problems))
    return report


def _parse_version(text: str, what: str) -> tuple[int, int]:
    """Return ``(major, minor)`` from a version string such as ``"2.6.0a0+git123"``."""
    match = _VERSION_PREFIX.match(str(text))
    if match is None:
        raise ValueError(
            f"cannot read a {what} version from {text!r}; expected 'major.minor...', e.g. '2.6.0'"
        )
    return int(match.group(1)), int(match.group(2))


def _format_version(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _device_label(device: DeviceInfo) -> str:
    # The CPU has one logical device, so an index would only add noise.
    return "cpu" if device.kind == "cpu" else f"{device.kind}:{device.index}"


def _cpu_name() -> str:
    """The CPU model name; platform.processor() is often empty on Linux, hence /proc."""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _system_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None  # not a POSIX system (Windows), or the value is not exposed
