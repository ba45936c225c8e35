"""
Setting up the environment
==========================

Installing PyTorch takes one command, but the right command depends on your
Python, your operating system and your GPU, and a wrong one often fails
quietly: an interpreter too old for current releases, or a multi-gigabyte CUDA
build on a machine without a GPU. After reading this page you will be able to:

* create an environment with a supported Python, activate it and install the
  right PyTorch build;
* check what is installed, from Python or from the command line;
* read the versions that matter: torch, its build, CUDA, and the accelerator
  torch can use.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# Create an environment
# ---------------------
#
# Give each project its own virtual environment, so that its packages do not
# mix with the system's. Python's standard ``venv`` module is enough:
#
# .. code-block:: bash
#
#     python3.12 -m venv .venv
#     source .venv/bin/activate      # on Windows: .venv\Scripts\activate
#
# conda works too. Run ``conda init`` once for your shell, then create and
# activate the environment:
#
# .. code-block:: bash
#
#     conda create -n pt python=3.12
#     conda activate pt
#
# Pick a Python that current PyTorch releases support. Every torch wheel
# declares the versions it supports in the ``Requires-Python`` field of its
# metadata, and pip skips the releases whose range excludes the running
# interpreter:

import importlib.metadata
import platform

requires_python = importlib.metadata.metadata("torch")["Requires-Python"]
print(f"torch Requires-Python: {requires_python}")
print(f"this interpreter:      Python {platform.python_version()}")

# %%
# After the activation, ``python`` is the environment's own interpreter, and
# Python can tell: inside a ``venv``, ``sys.prefix`` differs from
# ``sys.base_prefix``, and conda sets ``CONDA_DEFAULT_ENV``. If neither shows
# the environment you expect, the activation did not happen, and ``pip
# install`` would install into another Python.

import os
import sys

print(f"inside a venv:     {sys.prefix != sys.base_prefix}")
print(f"conda environment: {os.environ.get('CONDA_DEFAULT_ENV', 'none')}")

# %%
# Install the right build
# -----------------------
#
# PyTorch comes in several builds: for the CPU only, for NVIDIA GPUs (CUDA),
# for AMD GPUs (ROCm), for Intel GPUs (XPU). Take the command for your
# platform from the selector at https://pytorch.org/get-started/locally/. On
# Linux x86-64 the ``torch`` wheel on PyPI is a CUDA build, so a machine
# without an NVIDIA GPU installs the CPU-only build from PyTorch's own index,
# and checks the result at once:
#
# .. code-block:: bash
#
#     pip install torch --index-url https://download.pytorch.org/whl/cpu
#     python -c "import torch; print(torch.accelerator.is_available())"
#
# Install ``torchvision`` or ``torchaudio`` only when you use them, in the
# same command and from the same index as ``torch``: each torchvision release
# requires one exact torch version, and installed later from PyPI it can
# replace your torch with another version and build.
#
# The metadata of the installed torch lists what else it needed:

import torch

requirements = importlib.metadata.requires("torch") or []
cuda = [r for r in requirements if r.lower().startswith(("nvidia-", "cuda-"))]
print(f"torch {torch.__version__}, built for CUDA {torch.version.cuda}")
print(f"{len(requirements)} requirements, {len(cuda)} of them CUDA packages")

# %%
# A CPU build needs no CUDA package. A CUDA build lists them here, and pip
# installs each one, several gigabytes in all. How they are listed changed in
# torch 2.12: before, each CUDA library was a requirement of its own, a dozen
# or more ``nvidia-...`` packages. Since then, one requirement,
# ``cuda-toolkit[...]``, brings the CUDA libraries as extras of NVIDIA's
# ``cuda-toolkit`` package. For this page we read the metadata of torch
# 2.14.1's CUDA wheel for Linux x86-64 and Python 3.11 (a 529 MiB file). On
# Linux it requires ``cuda-toolkit`` 13.0.3 with eleven extras (cuBLAS,
# cudart, cuFFT, cuFile, CUPTI, cuRAND, cuSOLVER, cuSPARSE, nvJitLink, NVRTC
# and NVTX), four ``nvidia-...`` packages (cuDNN, cuSPARSELt, NCCL and
# NVSHMEM), ``cuda-bindings`` and ``triton``.
#
# Check what is installed
# -----------------------
#
# A few attributes of torch answer the questions that decide whether a setup
# works:

accelerator = torch.accelerator
available = accelerator.is_available()
facts = {
    "torch.__version__": torch.__version__,
    "torch.version.cuda": torch.version.cuda,
    "torch.version.hip": torch.version.hip,
    "torch.backends.cudnn.version()": torch.backends.cudnn.version(),
    "accelerator.is_available()": available,
    "accelerator.current_accelerator()": (
        accelerator.current_accelerator() if available else None
    ),
    "accelerator.device_count()": accelerator.device_count(),
}
for name, value in facts.items():
    print(f"{name:<34} {value}")

# %%
# * The local version suffix after ``+`` names the build of a wheel from
#   PyTorch's index: ``cpu``, ``cu`` and a CUDA version such as ``cu128``,
#   ``rocm`` and a ROCm version, or ``xpu``. Wheels from PyPI have no suffix
#   (on Linux x86-64 they are CUDA builds), so ``torch.version.cuda`` is the
#   reliable answer.
# * ``torch.version.cuda`` is the CUDA version torch was compiled with
#   (``None`` in a CPU build), not the version of the driver on the machine;
#   ``torch.version.hip`` is the same for AMD's ROCm.
# * ``torch.accelerator.is_available()`` is the question that matters: it is
#   ``True`` only when the build supports an accelerator, its driver is
#   installed and a device is visible. ``current_accelerator()`` names the
#   kind of accelerator: ``cuda`` (also on ROCm), ``mps``, ``xpu``... Ask
#   ``is_available()`` first: in torch 2.6, ``current_accelerator()`` raises
#   a ``RuntimeError`` when no device is visible, which is why the code above
#   calls it only then; newer releases name the kind the build was made for
#   even when no device is visible.
#
# On a machine with an NVIDIA GPU, this shows which one torch will use:

if torch.cuda.is_available():
    properties = torch.cuda.get_device_properties(torch.cuda.current_device())
    print(f"{properties.name}, {properties.total_memory / 2**30:.1f} GiB")
    print(f"compute capability {properties.major}.{properties.minor}")
else:
    print("no CUDA GPU is usable here")

# %%
# The same checks, tested
# -----------------------
#
# :func:`pttour.collect_environment` is the tested version of this page's
# checks: one report of the Python, the torch build and every device torch
# can use, compared with the oldest Python and torch that pttour supports.

import pttour

report = pttour.collect_environment()
print(report.to_text())

# %%
# :func:`pttour.require_supported` turns that comparison into a guard for the
# top of a script: it returns the report, or raises an error whose message
# says what to install, instead of an obscure failure later on.

report = pttour.require_supported()
print(f"supported: {report.supported}")

# %%
# From the command line, ``python -m pttour env`` prints the same report
# (``--json`` for a machine-readable one) and exits with status 1 on an
# unsupported setup. For a bug report, PyTorch's issue template asks for
# PyTorch's own, longer report:
#
# .. code-block:: bash
#
#     python -m pttour env
#     python -m torch.utils.collect_env
#
# Takeaways
# ---------
#
# * Use Python 3.10 or newer in an environment of its own, and activate it
#   with ``conda activate`` (after ``conda init``) or ``source
#   .venv/bin/activate``.
# * Take the install command from pytorch.org for your platform: the CPU-only
#   build comes from PyTorch's own index, while a plain ``pip install torch``
#   on Linux x86-64 brings CUDA. Install ``torchvision`` in the same command,
#   from the same index.
# * Check the install at once: ``torch.__version__``, ``torch.version.cuda``
#   and ``torch.accelerator.is_available()``, or everything with ``python -m
#   pttour env``.
#
# What the article got wrong
# --------------------------
#
# This page follows §3 "Setting up the environment" of the article; the
# :doc:`errata page </errata>` lists all its mistakes.
#
# .. _erratum-e03:
#
# Erratum E03: Python 3.7
# ~~~~~~~~~~~~~~~~~~~~~~~
#
# The article creates its conda environment with Python 3.7. The installed
# torch does not accept it:

import re

minimum = tuple(
    map(int, re.match(r">=(\d+)\.(\d+)", requires_python).groups())
)
print(
    f"torch needs Python {requires_python}; 3.7 accepted: {minimum <= (3, 7)}"
)

# %%
# In a Python 3.7 environment pip finds only old releases: the 1.13 series
# was the last built for 3.7, and Python 3.7 itself stopped receiving
# security fixes in June 2023. The fix: create the environment with Python
# 3.10 or newer, e.g. ``conda create -n pt python=3.12``. :ref:`All errata
# <e03>`
#
# .. _erratum-e04:
#
# Erratum E04: Bare activate
# ~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article activates the environment with a bare ``activate pt``. Before
# conda 4.4 (December 2017), that was the Windows form; Linux and macOS used
# ``source activate pt``. In a Linux or macOS shell a bare ``activate`` is
# usually not found, and a script of that name run without ``source`` changes
# nothing in the current shell. Nothing here runs conda, so there is no live
# result; the check of the activation above tells you whether it worked. The
# fix, since conda 4.6:
#
# .. code-block:: bash
#
#     conda init bash        # once, then open a new shell (or: zsh, fish...)
#     conda activate pt
#
# :ref:`All errata <e04>`
#
# .. _erratum-e05:
#
# Erratum E05: Plain pip install torch
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# The article installs PyTorch with a plain ``pip install torch
# torchvision`` and stops there. On Linux x86-64 that brings the CUDA build
# and its NVIDIA packages, several gigabytes, even on a machine without a
# GPU; the article never uses ``torchvision`` and never checks the result.
# The torch that built this page:

print(f"this torch: {torch.__version__}, CUDA packages required: {len(cuda)}")

# %%
# The fix: take the command for your platform from pytorch.org (on a machine
# without an NVIDIA GPU, the CPU-only index shown above), install
# ``torchvision`` only when you use it, in the same command, and check the
# install at once. :ref:`All errata <e05>`
#
# Exercises
# ---------
#
# Exercise 1 ★: predict a version check
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict what this prints; then fix the comparison.
#
# .. code-block:: python
#
#    installed, needed = "3.9", "3.10"
#    print(installed >= needed)
#
# .. solution::
#
#    Solution
#
#    It prints ``True``: strings compare character by character, and ``"9"``
#    comes after ``"1"``. Compare tuples of numbers instead, as
#    ``sys.version_info >= (3, 10)`` does.

installed, needed = "3.9", "3.10"
print(installed >= needed)
as_numbers = tuple(int(part) for part in installed.split("."))
print(as_numbers >= (3, 10))
assert installed >= needed  # wrong: "9" > "1"
assert not as_numbers >= (3, 10)  # right: 9 < 10

# %%
# Exercise 2 ★★: read the build from the version
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Write ``build_of(version, cuda)`` that names the build from a version
# string such as ``"2.13.0+cpu"`` or ``"2.13.0+cu128"`` and the value of
# ``torch.version.cuda``, and check it on both and on the installed torch.
#
# .. solution::
#
#    Solution
#
#    The suffix after ``+`` says the build of a wheel from PyTorch's index;
#    ``torch.version.cuda`` decides for a wheel without one.


def build_of(version, cuda):
    suffix = version.partition("+")[2]
    if suffix.startswith("cu") or (not suffix and cuda):
        return f"CUDA {cuda}"
    return "CPU-only" if suffix in ("cpu", "") else suffix


print(build_of(torch.__version__, torch.version.cuda))
assert build_of("2.13.0+cpu", None) == "CPU-only"
assert build_of("2.13.0+cu128", "12.8") == "CUDA 12.8"
assert build_of("2.13.0", "12.8") == "CUDA 12.8"  # a wheel from PyPI
