"""
Setting up the environment
==========================

Installing PyTorch takes one command, but the right command depends on your Python, your
operating system and your GPU, and a wrong one often fails quietly: an interpreter too old
for current releases, or a multi-gigabyte CUDA build on a machine without a GPU. After
reading this page you will be able to:

* create an environment with a supported Python and install the right PyTorch build;
* check what is installed, from Python or from the command line;
* read the versions that matter: torch, CUDA, cuDNN, and the devices torch can use.

**What you need:** PyTorch ≥ 2.6 and pttour. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install them.
"""

# %%
# What to install today
# ---------------------
#
# Use a Python that current PyTorch releases support (3.10 or newer), in its own virtual
# environment, so that the project's packages do not mix with the system's. Either tool
# works; with the standard ``venv`` module:
#
# .. code-block:: bash
#
#     python3.12 -m venv .venv
#     source .venv/bin/activate          # on Windows: .venv\Scripts\activate
#
# or with conda:
#
# .. code-block:: bash
#
#     conda create -n pt python=3.12
#     conda activate pt
#
# Then take the install command for your platform from the selector at
# https://pytorch.org/get-started/locally/. It differs by operating system and by compute
# platform. On Linux, for example:
#
# .. code-block:: bash
#
#     # no NVIDIA GPU: the CPU-only build, much smaller
#     pip install torch --index-url https://download.pytorch.org/whl/cpu
#     # NVIDIA GPU: the selector gives the command for the current CUDA versions
#
# Install ``torchvision`` or ``torchaudio`` only if you use them, from the same index as
# ``torch`` so that their versions match.
#
# Check what is installed
# -----------------------
#
# :func:`pttour.collect_environment` gathers the facts that decide whether a setup works:
# the Python and torch versions, what the torch build was compiled for, and the devices that
# torch can actually use. Printed, it reads like this. The output below describes the
# machine that built this page; yours will differ.

import pttour

report = pttour.collect_environment()
print(report.to_text())

# %%
# The same report is available from the command line, which is handy in a bug report or a
# CI log. Add ``--json`` for a machine-readable version:
#
# .. code-block:: bash
#
#     python -m pttour env
#     python -m pttour env --json
#
# The command exits with status 1 when pttour does not support the environment. The JSON it
# prints is ``report.to_dict()``, serialised:

import json

print(json.dumps(report.to_dict(), indent=2))

# %%
# When something is too old
# -------------------------
#
# Each problem is one sentence that says what to install. :func:`pttour.version_problems`
# checks any pair of version strings, so we can see the advice for an old setup without
# installing one:

for problem in pttour.version_problems("3.8.18", "1.13.1"):
    print(problem)

# %%
# :func:`pttour.require_supported` turns those sentences into an exception. Call it at the
# top of a script, and an old setup stops there with the advice, instead of failing later
# with an obscure error. Here it checks a copy of the report with old versions filled in:

import dataclasses

old_report = dataclasses.replace(
    report,
    python_version="3.8.18",
    torch_version="1.13.1",
    problems=tuple(pttour.version_problems("3.8.18", "1.13.1")),
)
try:
    pttour.require_supported(old_report)
except pttour.UnsupportedEnvironmentError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# Reading the versions yourself
# -----------------------------
#
# The report is built from a few attributes of torch that are worth knowing. The local
# version suffix after ``+`` names the build: ``cpu``, or ``cu`` and a CUDA version such as
# ``cu128``. ``torch.version.cuda`` is the CUDA version torch was compiled with (``None`` in a
# CPU build); it is not the version of the driver installed on the machine.

import torch

facts = {
    "torch.__version__": torch.__version__,
    "torch.version.cuda": torch.version.cuda,
    "torch.cuda.is_available()": torch.cuda.is_available(),
    "torch.cuda.device_count()": torch.cuda.device_count(),
    "torch.backends.cudnn.is_available()": torch.backends.cudnn.is_available(),
    "torch.backends.cudnn.version()": torch.backends.cudnn.version(),
    "torch.backends.mps.is_built()": torch.backends.mps.is_built(),
    "torch.backends.mps.is_available()": torch.backends.mps.is_available(),
}
width = max(len(name) for name in facts)
for name, value in facts.items():
    print(f"{name:<{width}}  {value}")

# %%
# ``torch.cuda.is_available()`` is the question that matters: it is ``True`` only when the
# build supports CUDA, a driver is installed and a GPU is visible. On Apple silicon, ask
# ``torch.backends.mps.is_available()`` instead. On a machine with a GPU, this shows which
# one torch will use:

if torch.cuda.is_available():
    index = torch.cuda.current_device()
    properties = torch.cuda.get_device_properties(index)
    print(f"cuda:{index}: {properties.name}, {properties.total_memory / 2**30:.1f} GiB")
    print(f"compute capability {properties.major}.{properties.minor}")
else:
    print("no CUDA GPU is usable here; code that calls pttour.pick_device() runs on the CPU")

# %%
# .. _erratum-e03:
#
# Erratum E03: Python 3.7
# -----------------------
#
# The article's setup creates its conda environment with Python 3.7.
#
# Every torch wheel declares which Python versions it supports, in the ``Requires-Python``
# field of its metadata, and pip skips the releases whose range excludes the running
# interpreter. The installed torch declares:

import importlib.metadata
import platform

requires_python = importlib.metadata.metadata("torch")["Requires-Python"]
print(f"torch {torch.__version__} Requires-Python: {requires_python}")
print(f"this interpreter: Python {platform.python_version()}")

# %%
# In a Python 3.7 environment, pip can therefore only find old releases: the 1.13 series
# was the last one built for 3.7, and Python 3.7 itself stopped receiving security fixes in
# June 2023. pttour's own check says the same thing in one sentence:

for problem in pttour.version_problems("3.7.16", torch.__version__):
    print(problem)

# %%
# The fix is to create the environment with a supported Python, and to check it:

for python_version in ("3.7.16", "3.12.8"):
    problems = pttour.version_problems(python_version, torch.__version__)
    print(f"Python {python_version}: {'supported' if not problems else 'too old'}")

# %%
# .. code-block:: bash
#
#     conda create -n pt python=3.12
#
# .. _erratum-e04:
#
# Erratum E04: Bare activate
# --------------------------
#
# The article activates its environment with a bare ``activate pt``.
#
# That is the syntax of conda before version 4.4, released in December 2017. On Linux and
# macOS a bare ``activate`` is usually not found; where an old script of that name exists,
# running it without ``source`` changes nothing in the current shell. Since 4.4,
# ``conda activate`` is the command on every platform, after ``conda init`` has set up the
# shell once:
#
# .. code-block:: bash
#
#     conda init bash        # once; then open a new shell (or use zsh, fish, powershell)
#     conda activate pt
#
# Nothing here runs conda, but Python can tell which environment it runs in. After a
# successful activation, ``python`` is the environment's interpreter: a ``venv`` has a
# ``sys.prefix`` different from ``sys.base_prefix``, and conda sets ``CONDA_DEFAULT_ENV``.

import os
import sys

print(f"inside a venv:         {sys.prefix != sys.base_prefix}")
print(f"conda environment:     {os.environ.get('CONDA_DEFAULT_ENV', 'none')}")

# %%
# If these do not show the environment you expect, the activation did not happen, and
# ``pip install`` would install into another Python.
#
# .. _erratum-e05:
#
# Erratum E05: Plain pip install torch
# ------------------------------------
#
# The article installs PyTorch with a plain ``pip install torch torchvision`` and stops
# there, without checking the result.
#
# On Linux on x86-64, the ``torch`` wheel on PyPI is a CUDA build: it pulls in NVIDIA's runtime
# libraries as separate packages, several gigabytes, even on a machine without a GPU. The
# CPU-only build is a different wheel, on PyTorch's own package index, with the version
# suffix ``+cpu``. The installed metadata shows which build you have:

distribution = importlib.metadata.distribution("torch")
local_suffix = torch.__version__.partition("+")[2] or "(none)"
nvidia_packages = [
    requirement
    for requirement in distribution.requires or []
    if requirement.lower().startswith("nvidia-")
]
installed_bytes = sum(
    path.locate().stat().st_size for path in distribution.files or [] if path.locate().is_file()
)
print(f"version suffix:            {local_suffix}")
print(f"compiled for CUDA:         {torch.version.cuda}")
print(f"NVIDIA packages required:  {len(nvidia_packages)}")
print(f"size of the torch package: {installed_bytes / 2**20:.0f} MiB")

# %%
# A CUDA build installed from PyPI lists a dozen or more ``nvidia-...`` packages here, and
# those come on top of the size of ``torch`` itself. The article also installs
# ``torchvision`` without ever using it, and never checks that the install works or that the
# GPU is visible.
#
# The fix: take the command from the selector on pytorch.org (for a CPU-only machine,
# ``pip install torch --index-url https://download.pytorch.org/whl/cpu``), install only what
# you use, and check the result at once:
#
# .. code-block:: bash
#
#     python -c "import torch; print(torch.__version__, torch.cuda.is_available())"
#     python -m pttour env
#
# The same check from Python; on a GPU machine the second value must be ``True``:

print(torch.__version__, torch.cuda.is_available())
print(f"pttour supports this environment: {report.supported}")

# %%
# Takeaways
# ---------
#
# * Use Python 3.10 or newer in its own environment, and activate it with
#   ``conda activate`` or ``source .venv/bin/activate``.
# * Take the install command from pytorch.org for your platform: the CPU-only build comes
#   from PyTorch's own index, and a plain ``pip install torch`` on Linux brings CUDA.
# * Check the install right away: ``torch.__version__``, ``torch.version.cuda`` and
#   ``torch.cuda.is_available()``, or all at once with ``python -m pttour env``.
# * :func:`pttour.collect_environment` and :class:`pttour.EnvironmentReport` give the
#   report in code, :func:`pttour.version_problems` explains what is too old, and
#   :func:`pttour.require_supported` stops a script early with that advice.
