"""Choosing a device once, moving data to it, and measuring when the GPU pays off.

Device-agnostic code picks its device in one place (:func:`pick_device`), sends
the model and every batch there (:func:`move_to`), and never hard-codes
``.cuda()``. A GPU is not automatically faster: for small tensors the launch and
copy overheads dominate, which :func:`time_matmul` makes measurable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pttour import _checks

__all__ = ["move_to", "pick_device", "time_matmul"]


def _accelerator() -> torch.device | None:
    """The accelerator torch sees here (a CUDA GPU, MPS, XPU ...) with its index, or None."""
    api = torch.accelerator
    if not api.is_available():
        return None
    current = getattr(api, "current_device_index", None) or api.current_device_idx  # torch 2.6
    return torch.device(api.current_accelerator().type, current())


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: the one asked for if usable, else the best available.

    With no argument: the accelerator ``torch.accelerator`` reports (a CUDA GPU, MPS, XPU ...),
    else the CPU. A device asked for by name that is not usable raises, saying why, instead of
    falling back to the CPU for hours. GPUs always carry an index (``cuda:0``), as
    ``tensor.device`` does, so ``tensor.device == pick_device()`` compares as expected.

    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device().type in {"cpu", "cuda", "mps", "xpu"}
    True

    """
    accelerator = _accelerator()
    if device is None:
        return accelerator or torch.device("cpu")
    chosen = _checks.device("device", device)
    kinds = ["cpu", "cuda", "mps", *([accelerator.type] if accelerator is not None else [])]
    if chosen.type not in kinds:
        raise ValueError(
            f"pick_device() chooses among 'cpu', 'cuda' and 'mps' and the accelerator torch "
            f"sees here ({accelerator.type if accelerator else 'none'}), got {str(chosen)!r}; "
            f"for another backend, pass torch.device({str(chosen)!r}) to torch directly"
        )
    if chosen.type == "cpu":
        return torch.device("cpu")
    _check_usable(device, chosen, accelerator)
    if chosen.index is not None:
        return chosen
    if chosen.type == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return accelerator if accelerator is not None else torch.device(chosen.type, 0)


def move_to(obj: Any, device: str | torch.device, *, non_blocking: bool = False) -> Any:
    """Move every tensor inside a (possibly nested) batch, or a model, to ``device``.

    A DataLoader yields what the dataset returns: tensors, tuples, dicts, namedtuples. Their
    structure and types are kept; modules move in place; anything else is returned unchanged.

    >>> from collections import namedtuple
    >>> Pair = namedtuple("Pair", ["x", "y"])
    >>> batch = {"pair": Pair(torch.ones(2), torch.zeros(2)), "ids": [7, 8], "name": "a"}
    >>> moved = move_to(batch, "cpu")
    >>> type(moved["pair"]).__name__, moved["pair"].x.device, moved["ids"], moved["name"]
    ('Pair', device(type='cpu'), [7, 8], 'a')

    ``non_blocking`` overlaps host-to-GPU copies with computation when the source is in pinned
    memory. A ``device`` that is not usable raises as in :func:`pick_device`.
    """
    _checks.device("device", device)  # None too: pick_device(None) would choose one silently
    _checks.boolean("non_blocking", non_blocking)
    return _move(obj, pick_device(device), non_blocking)


class _Seconds(float):
    """A duration in seconds that prints rounded, in the unit that suits it: ``13.5 us``."""

    def __str__(self) -> str:
        from torch.utils.benchmark.utils.common import select_unit  # see time_matmul

        unit, scale = select_unit(self)
        return f"{self / scale:.3g} {unit}"


def time_matmul(
    n: int,
    device: str | torch.device,
    *,
    include_transfer: bool = False,
    dtype: torch.dtype = torch.float32,
    num_threads: int = 1,
    min_run_time: float = 0.2,
) -> float:
    """Return the median time of one ``n x n`` matrix product on ``device``, in seconds.

    Whether a GPU helps depends on the size of the work and on the copies there and back
    (``include_transfer``). :class:`torch.utils.benchmark.Timer` measures it: it warms up, repeats
    for at least ``min_run_time`` seconds on ``num_threads`` threads and waits for queued GPU work.
    The result is a float that prints rounded, with its unit.

    >>> seconds = time_matmul(64, "cpu", min_run_time=0.05)
    >>> 0 < seconds < 1, str(seconds).endswith(("ns", "us", "ms"))
    (True, True)
    """
    _checks.integer("n", n, minimum=1)
    _checks.boolean("include_transfer", include_transfer)
    _checks.integer("num_threads", num_threads, minimum=1)
    _checks.real("min_run_time", min_run_time, positive=True)
    if not isinstance(dtype, torch.dtype) or not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError(
            f"dtype must be a floating point or complex torch.dtype, got {dtype!r}; "
            f"pass e.g. dtype=torch.float32"
        )
    target = pick_device(device)
    # A private generator: benchmarking must not shift the global random stream.
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=generator, dtype=dtype) for _ in range(2))
    if not include_transfer:  # the data is on the device already
        a, b = a.to(target), b.to(target)
    stmt = "(a.to(target) @ b.to(target)).cpu()" if include_transfer else "a @ b"
    # Not imported with pttour: it imports setuptools, and logs a line on a CUDA build sans GPU.
    from torch.utils import benchmark

    timer = benchmark.Timer(
        stmt, globals={"a": a, "b": b, "target": target}, num_threads=num_threads
    )
    return _Seconds(timer.blocked_autorange(min_run_time=min_run_time).median)


def _check_usable(preferred: object, device: torch.device, accelerator: Any) -> None:
    """Raise, saying why and what to do, unless ``device`` (cuda, mps, an accelerator) is usable."""
    kind, reason, fix = device.type, None, "use 'cpu'"
    count = torch.cuda.device_count() if kind == "cuda" else torch.accelerator.device_count()
    if kind == "cuda" and not torch.backends.cuda.is_built():
        reason = f"torch {torch.__version__} is a CPU-only build"
        fix = "install a CUDA build of torch (https://pytorch.org/get-started/locally/)"
    elif kind == "cuda" and not torch.cuda.is_available():
        reason = f"torch was built with CUDA {torch.version.cuda} but sees no GPU"
        fix = "check the driver with nvidia-smi, and that CUDA_VISIBLE_DEVICES hides no GPU"
    elif kind == "mps" and not torch.backends.mps.is_available():
        reason = f"torch {torch.__version__} cannot use MPS here"
        fix = "MPS needs macOS 12.3 or newer on Apple silicon with a torch for macOS"
    elif kind not in ("cuda", "mps") and getattr(accelerator, "type", None) != kind:
        reason = f"torch sees no {kind} device here"
    elif device.index is not None and device.index >= count:
        reason = f"only {count} {'CUDA' if kind == 'cuda' else kind} device(s) are visible"
        fix = f"use an index below {count}, or check CUDA_VISIBLE_DEVICES"
    else:
        return
    available = ["cpu"]
    if torch.cuda.is_available():
        available += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if accelerator is not None and accelerator.type != "cuda":
        available.append(f"{accelerator.type}:{accelerator.index}")
    raise ValueError(
        f"device {str(preferred)!r} was requested but {reason}; "
        f"available: {', '.join(available)}. "
        f"To fix: {fix}; or call pick_device() with no argument to use the best available device."
    )


def _move(obj: Any, device: torch.device, non_blocking: bool) -> Any:
    if isinstance(obj, torch.Tensor | nn.Module | nn.utils.rnn.PackedSequence):
        # PackedSequence is a namedtuple but must keep batch_sizes on the CPU; its own
        # .to() knows that. Module.to() moves in place and returns the module itself.
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, Mapping):
        items = {key: _move(value, device, non_blocking) for key, value in obj.items()}
        if isinstance(obj, defaultdict):
            return type(obj)(obj.default_factory, items)
        try:
            return type(obj)(items)
        except (TypeError, ValueError):
            return items  # the mapping type cannot be rebuilt from a dict
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return type(obj)(*(_move(item, device, non_blocking) for item in obj))
    if isinstance(obj, list | tuple):
        moved = [_move(item, device, non_blocking) for item in obj]
        try:
            return type(obj)(moved)
        except (TypeError, ValueError):
            # A subclass whose constructor takes other arguments: keep the values at least.
            return list(moved) if isinstance(obj, list) else tuple(moved)
    return obj
