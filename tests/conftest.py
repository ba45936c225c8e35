"""Shared fixtures: the ``cuda`` marker's auto-skip and an RNG-restoring guard.

This file imports only pytest and torch (and the per-file timing table of ``_durations.py``
beside it), so the CUDA tests also run on a machine that has nothing else installed.
"""

from __future__ import annotations

import random

import pytest
import torch
from _durations import pytest_runtest_logreport, pytest_terminal_summary  # noqa: F401


def _cuda_skip_reason() -> str | None:
    """Why CUDA tests cannot run here, or None when they can."""
    if not torch.backends.cuda.is_built():
        return f"torch {torch.__version__} is a CPU-only build (no CUDA support compiled in)"
    if not torch.cuda.is_available():
        return "torch has CUDA support but sees no GPU (torch.cuda.is_available() is False)"
    return None


CUDA_SKIP_REASON = _cuda_skip_reason()

# The browser tests need a built site and Chromium, the download tests a built site and the
# reader's venv: `nox -s browser` and `nox -s downloads` run them by naming their folder (a path
# given on the command line is collected even when listed here).
collect_ignore = ["browser", "downloads"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every ``cuda``-marked test, saying why, when no GPU is usable."""
    if CUDA_SKIP_REASON is None:
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON}")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def linear_data(
    n_samples: int, *, weights: tuple[float, ...] = (3.0, 1.0), bias: float = 4.0,
    noise_std: float = 0.0, seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``y = X @ weights + bias (+ noise)``: X uniform in [0, 1), y of shape (n_samples, 1)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(n_samples, len(weights), generator=generator)
    y = X @ torch.tensor([weights]).T + bias
    return X, y + noise_std * torch.randn(n_samples, 1, generator=generator)


def cpu_and_cuda() -> list:
    """Parametrize over ``cpu`` and ``cuda``; the cuda case carries the ``cuda`` marker."""
    return ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.fixture(autouse=True)
def _restore_rng_state():
    """Give each test the RNG state it found, so tests cannot depend on each other's draws."""
    torch_state = torch.get_rng_state()
    python_state = random.getstate()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    yield
    torch.set_rng_state(torch_state)
    random.setstate(python_state)
    if cuda_states is not None:
        torch.cuda.set_rng_state_all(cuda_states)
