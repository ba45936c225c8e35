"""Choosing a device once, moving data to it, and measuring when the GPU pays off.

Device-agnostic code picks its device in one place (:func:`pick_device`), sends
the model and every batch there (:func:`move_to`), and never hard-codes
``.cuda()``. A GPU is not automatically faster: for small tensors the launch and
copy overheads dominate, which :func:`time_matmul` makes measurable.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import torch
from torch import nn

__all__ = ["move_to", "pick_device", "time_matmul"]

_KNOWN_KINDS = ("cpu", "cuda", "mps")
_INSTALL_PAGE = "https://pytorch.org/get-started/locally/"


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on: the one asked for if usable, else the best available.

    With no argument it prefers a CUDA GPU, then Apple's MPS, then the CPU, so the
    same script runs everywhere. A device that is asked for by name but is not
    usable raises instead of silently falling back, because a run that was meant
    for the GPU and quietly took the CPU wastes hours. The result always carries
    an index for GPUs (``cuda:0``, never bare ``cuda``) and none for the CPU,
    matching ``tensor.device``, so ``tensor.device == pick_device()`` compares
    as expected.

    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device().type in {"cpu", "cuda", "mps"}
    True

    Parameters
    ----------
    preferred : str or torch.device, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; None picks automatically.

    Returns
    -------
    torch.device
        A device that tensors can be created on now.

    Raises
    ------
    ValueError
        If ``preferred`` is not a device name, or names a kind other than cpu, cuda or mps.
    TypeError
        If ``preferred`` is neither a str, a torch.device nor None.
    RuntimeError
        If the requested device exists in name but is not usable here; the message
        lists the available devices and how to fix it.
    """
    if preferred is None:
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if torch.backends.mps.is_available():
            return torch.device("mps", 0)
        return torch.device("cpu")

    device = _parse_device(preferred)
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        problem = _cuda_problem(device.index)
        if problem is not None:
            _raise_unusable(preferred, *problem)
        index = torch.cuda.current_device() if device.index is None else device.index
        return torch.device("cuda", index)
    # device.type == "mps"; _parse_device has rejected every other kind.
    index = 0 if device.index is None else device.index
    if not torch.backends.mps.is_available():
        if torch.backends.mps.is_built():
            reason = "this torch has MPS support but the device is not usable here"
        else:
            reason = f"torch {torch.__version__} was built without MPS support"
        _raise_unusable(
            preferred,
            reason,
            "MPS needs macOS 12.3 or newer on Apple silicon with a torch for macOS",
        )
    if index != 0:
        _raise_unusable(preferred, "there is only one MPS device, mps:0", "use 'mps'")
    return torch.device("mps", 0)


def move_to(obj: Any, device: str | torch.device, *, non_blocking: bool = False) -> Any:
    """Move every tensor inside a (possibly nested) batch, or a model, to ``device``.

    A DataLoader yields whatever the dataset returns: a tensor, a tuple, a dict of
    lists, a namedtuple. This walks that structure and keeps its shape and types,
    so code after the move still reads ``batch["image"]`` or ``batch.label``.
    Tensors are copied with ``tensor.to``; modules are moved in place with
    ``module.to`` and returned; anything else (numbers, strings, None, arrays)
    is returned unchanged.

    >>> from collections import namedtuple
    >>> Pair = namedtuple("Pair", ["x", "y"])
    >>> batch = {"pair": Pair(torch.ones(2), torch.zeros(2)), "ids": [7, 8], "name": "a"}
    >>> moved = move_to(batch, "cpu")
    >>> type(moved["pair"]).__name__, moved["pair"].x.device, moved["ids"], moved["name"]
    ('Pair', device(type='cpu'), [7, 8], 'a')

    Parameters
    ----------
    obj : object
        A tensor, an ``nn.Module``, or mappings, lists, tuples and namedtuples of them.
    device : str or torch.device
        Target device, checked with :func:`pick_device` (e.g. ``"cuda"`` or ``pick_device()``).
    non_blocking : bool, default False
        Let host-to-GPU copies overlap with computation; only effective when the
        source tensors are in pinned memory (``DataLoader(pin_memory=True)``).

    Returns
    -------
    object
        The same structure with tensors on ``device``; mappings and sequences are
        new objects of the same type (a plain ``dict`` when a mapping type cannot be
        rebuilt from a dict); a module is the same object, now on ``device``.

    Raises
    ------
    TypeError
        If ``device`` is None (choose one with :func:`pick_device`).
    ValueError, RuntimeError
        As :func:`pick_device`, when ``device`` is unknown or not usable here.
    """
    if device is None:
        raise TypeError("move_to() needs a device, got None; pass e.g. device=pick_device()")
    target = pick_device(device)
    return _move(obj, target, non_blocking)


def time_matmul(
    n: int,
    device: str | torch.device,
    *,
    repeats: int = 5,
    include_transfer: bool = False,
    dtype: torch.dtype = torch.float32,
) -> float:
    """Return the median time in seconds of one ``n x n`` matrix product on ``device``.

    Whether a GPU helps depends on the size of the work and on whether the data
    has to travel there and back; this measures both honestly. One untimed run
    comes first, because the first call pays one-off costs (library loading,
    kernel selection). On a GPU the work is queued asynchronously, so the clock is
    read only after ``synchronize()``; otherwise the time of launching, not of
    computing, would be measured.

    >>> seconds = time_matmul(32, "cpu", repeats=3)
    >>> isinstance(seconds, float), seconds > 0
    (True, True)

    Parameters
    ----------
    n : int
        Matrix size, at least 1; the product costs about ``2 * n**3`` operations.
    device : str or torch.device
        Where to multiply, checked with :func:`pick_device`.
    repeats : int, default 5
        Timed runs, at least 1; the median is returned, robust to a slow outlier.
    include_transfer : bool, default False
        When True, each timed run also copies both inputs from the CPU to
        ``device`` and the result back (free when ``device`` is the CPU).
    dtype : torch.dtype, default torch.float32
        Floating point or complex element type of the matrices.

    Returns
    -------
    float
        Median seconds per product.

    Raises
    ------
    TypeError
        If ``n`` or ``repeats`` is not an int, or ``dtype`` not a floating point
        or complex ``torch.dtype``.
    ValueError
        If ``n`` or ``repeats`` is below 1.
    RuntimeError
        As :func:`pick_device`, when ``device`` is not usable here.
    """
    _check_positive_int("n", n)
    _check_positive_int("repeats", repeats)
    if not isinstance(dtype, torch.dtype) or not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError(
            f"dtype must be a floating point or complex torch.dtype, got {dtype!r}; "
            f"pass e.g. dtype=torch.float32"
        )
    target = pick_device(device)

    # A private generator: benchmarking must not shift the global random stream.
    generator = torch.Generator().manual_seed(0)
    a_host = torch.randn(n, n, generator=generator, dtype=dtype)
    b_host = torch.randn(n, n, generator=generator, dtype=dtype)

    run: Callable[[], torch.Tensor]
    if include_transfer:

        def run() -> torch.Tensor:
            return (a_host.to(target) @ b_host.to(target)).cpu()

    else:
        a, b = a_host.to(target), b_host.to(target)

        def run() -> torch.Tensor:
            return a @ b

    run()
    _synchronize(target)
    durations = []
    for _ in range(repeats):
        _synchronize(target)
        start = time.perf_counter()
        run()
        _synchronize(target)
        durations.append(time.perf_counter() - start)
    return float(statistics.median(durations))


def _parse_device(preferred: object) -> torch.device:
    if isinstance(preferred, torch.device):
        device = preferred
    elif isinstance(preferred, str):
        try:
            device = torch.device(preferred)
        except RuntimeError:
            raise ValueError(
                f"unknown device {preferred!r}; use 'cpu', 'cuda', 'cuda:N' or 'mps' "
                f"(lower case), or None to pick the best available one"
            ) from None
    else:
        raise TypeError(
            f"device must be a str, a torch.device or None, got {preferred!r} "
            f"({type(preferred).__name__}); pass e.g. 'cuda:0' rather than 0"
        )
    if device.type not in _KNOWN_KINDS:
        raise ValueError(
            f"pick_device() chooses among 'cpu', 'cuda' and 'mps', got {str(device)!r}; "
            f"for another backend, pass torch.device({str(device)!r}) to torch directly"
        )
    return device


def _cuda_problem(index: int | None) -> tuple[str, str] | None:
    """Why ``cuda:index`` (or bare ``cuda``) is not usable, and the fix; None when it is."""
    if not torch.backends.cuda.is_built():
        return (
            f"torch {torch.__version__} is a CPU-only build",
            f"install a CUDA build of torch (the command for your system is at {_INSTALL_PAGE})",
        )
    if not torch.cuda.is_available():
        return (
            f"torch was built with CUDA {torch.version.cuda} but sees no GPU",
            (
                "check the NVIDIA driver with nvidia-smi and that CUDA_VISIBLE_DEVICES "
                "does not hide the GPUs"
            ),
        )
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        return (
            f"only {count} CUDA device(s) are visible",
            f"use an index below {count}, or check CUDA_VISIBLE_DEVICES",
        )
    return None


def _available_devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.extend(f"cuda:{index}" for index in range(torch.cuda.device_count()))
    if torch.backends.mps.is_available():
        names.append("mps:0")
    return names


def _raise_unusable(preferred: object, reason: str, fix: str) -> NoReturn:
    raise RuntimeError(
        f"device {str(preferred)!r} was requested but {reason}; "
        f"available: {', '.join(_available_devices())}. "
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


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


def _synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures computing, not launching."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
