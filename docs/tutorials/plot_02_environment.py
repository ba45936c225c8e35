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
#     source .venv/bin/activate          # on Windows: .venv\Scripts\activate
#
# conda works too, with a Python version that current PyTorch releases support:
#
# .. code-block:: bash
#
#     conda create -n pt python=3.12
#
# .. _erratum-e03:
#
# Erratum E03: Python 3.7
# -----------------------
#
# The article creates its conda environment with Python 3.7. Every torch wheel
# declares the Python versions it supports in the ``Requires-Python`` field of
# its metadata, and pip skips the releases whose range excludes the running
# interpreter. The installed torch declares:

import importlib.metadata
import platform
import sys

requires_python = importlib.metadata.metadata("torch")["Requires-Python"]
print(f"torch Requires-Python: {requires_python}")
print(f"this interpreter:      Python {platform.python_version()}")

# %%
# In a Python 3.7 environment pip therefore finds only old releases: the 1.13
# series was the last built for 3.7, and Python 3.7 itself stopped receiving
# security fixes in June 2023. The fix: create the environment with Python 3.10
# or newer, for example ``conda create -n pt python=3.12``, and check the
# interpreter before installing anything. :ref:`All errata <e03>`

print(f"this Python is supported: {sys.version_info >= (3, 10)}")

# %%
# .. _erratum-e04:
#
# Erratum E04: Bare activate
# --------------------------
#
# The article then activates the environment with a bare ``activate pt``.
# Before conda 4.4 (December 2017), that was the Windows form; Linux and macOS
# used ``source activate pt``. In a Linux or macOS shell a bare ``activate`` is
# usually not found, and where a script of that name is on the ``PATH``,
# running it without ``source`` changes nothing in the current shell. Since
# conda 4.4, ``conda activate`` works on every platform, and since 4.6 ``conda
# init`` sets up your shell for it once:
#
# .. code-block:: bash
#
#     conda init bash        # once, then open a new shell (or: zsh, fish, powershell)
#     conda activate pt
#
# Nothing here runs conda, but Python can tell which environment it runs in.
# After a successful activation, ``python`` is the environment's interpreter: a
# ``venv`` has a ``sys.prefix`` different from ``sys.base_prefix``, and conda
# sets ``CONDA_DEFAULT_ENV``.

import os

print(f"inside a venv:     {sys.prefix != sys.base_prefix}")
print(f"conda environment: {os.environ.get('CONDA_DEFAULT_ENV', 'none')}")

# %%
# If these do not show the environment you expect, the activation did not
# happen, and ``pip install`` would install into another Python. :ref:`All
# errata <e04>`
#
# .. _erratum-e05:
#
# Erratum E05: Plain pip install torch
# ------------------------------------
#
# The article installs PyTorch with a plain ``pip install torch torchvision``
# and stops there. On Linux x86-64, the ``torch`` wheel on PyPI is a CUDA
# build: it pulls in NVIDIA's libraries as separate packages, several
# gigabytes, even on a machine without a GPU. The CPU-only build is a different
# wheel, on PyTorch's own package index. The installed metadata shows which
# build you have:

import torch

distribution = importlib.metadata.distribution("torch")
nvidia = [
    r for r in distribution.requires or [] if r.lower().startswith("nvidia-")
]
size = sum(
    f.locate().stat().st_size
    for f in distribution.files or []
    if f.locate().is_file()
)
print(f"torch.__version__:         {torch.__version__}")
print(f"torch.version.cuda:        {torch.version.cuda}")
print(f"NVIDIA packages required:  {len(nvidia)}")
print(f"size of the torch package: {size / 2**20:.0f} MiB")

# %%
# A CUDA build from PyPI lists a dozen or more ``nvidia-...`` packages here, on
# top of its own size. The article also installs ``torchvision`` without ever
# using it, and never checks that the install works.
#
# The fix: take the command for your platform from the selector at
# https://pytorch.org/get-started/locally/, install only what you use, and
# check the result at once. On a machine without an NVIDIA GPU:
#
# .. code-block:: bash
#
#     pip install torch --index-url https://download.pytorch.org/whl/cpu
#     python -c "import torch; print(torch.__version__, torch.accelerator.is_available())"
#
# When you need ``torchvision`` or ``torchaudio``, install them in the same
# command and from the same index as ``torch``: each torchvision release
# requires one exact torch version, and the index keeps the build (CPU or CUDA)
# the same. Installed later from PyPI, torchvision can replace your torch with
# another version and build. :ref:`All errata <e05>`
#
# Check what is installed
# -----------------------
#
# A few attributes of torch answer the questions that decide whether a setup
# works:

facts = {
    "torch.__version__": torch.__version__,
    "torch.version.cuda": torch.version.cuda,
    "torch.version.hip": torch.version.hip,
    "torch.backends.cudnn.version()": torch.backends.cudnn.version(),
    "torch.accelerator.is_available()": torch.accelerator.is_available(),
    "torch.accelerator.current_accelerator()": torch.accelerator.current_accelerator(),
    "torch.accelerator.device_count()": torch.accelerator.device_count(),
}
for name, value in facts.items():
    print(f"{name:<40} {value}")

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
#   installed and a device is visible. ``current_accelerator()`` names the kind
#   of accelerator the build was made for: ``cuda`` (also on ROCm), ``mps``,
#   ``xpu``... It answers even when no device is visible, so ask
#   ``is_available()`` first.
#
# On a machine with an NVIDIA GPU, this shows which one torch will use:

if torch.cuda.is_available():
    properties = torch.cuda.get_device_properties(torch.cuda.current_device())
    print(f"{properties.name}, {properties.total_memory / 2**30:.1f} GiB")
    print(f"compute capability {properties.major}.{properties.minor}")
else:
    print("no CUDA GPU is usable here")

# %%
# The same checks, packaged
# -------------------------
#
# For a bug report, PyTorch ships its own, longer report, which PyTorch's issue
# template asks for:
#
# .. code-block:: bash
#
#     python -m torch.utils.collect_env
#
# pttour packages the checks of this page in one command, which exits with
# status 1 when the Python or torch is older than pttour supports. Add
# ``--json`` for a machine-readable report; :func:`pttour.collect_environment`
# gives the same report in Python.

import subprocess

result = subprocess.run(
    [sys.executable, "-m", "pttour", "env"],
    capture_output=True,
    text=True,
    check=False,
)
print(result.stdout, end="")
print(f"exit status: {result.returncode}")

# %%
# Takeaways
# ---------
#
# * Use Python 3.10 or newer in an environment of its own, and activate it with
#   ``conda activate`` (after ``conda init``) or ``source .venv/bin/activate``.
# * Take the install command from pytorch.org for your platform: the CPU-only
#   build comes from PyTorch's own index, while a plain ``pip install torch``
#   on Linux x86-64 brings CUDA. Install ``torchvision`` in the same command,
#   from the same index.
# * Check the install at once: ``torch.__version__``, ``torch.version.cuda``
#   and ``torch.accelerator.is_available()``, or everything with ``python -m
#   pttour env``.
