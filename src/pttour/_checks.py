"""Argument checks shared by the modules, with one rule for the exception type.

A value of the wrong type raises ``TypeError``; a value of the right type that is wrong (out of
range, or naming a device this machine does not have) raises ``ValueError``. Both name the
argument, show what was given and say what to pass. ``RuntimeError`` is left for the state of the
process (no process group, say), ``FloatingPointError`` for a loss that stopped being finite.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

import torch


def _got(value: object) -> str:
    text = repr(value)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({type(value).__name__})"


def require_type(
    name: str, value: object, kind: type | tuple[type, ...], what: str, fix: str = ""
) -> Any:
    """Return ``value`` if it is an instance of ``kind``, else raise TypeError naming ``name``."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {_got(value)}" + (f"; {fix}." if fix else "."))
    return value


def integer(name: str, value: object, *, minimum: int | None = None) -> int:
    """An int (a NumPy integer too, never a bool) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        bound = "" if minimum is None else f" >= {minimum}"
        raise TypeError(
            f"{name} must be an int{bound}, got {_got(value)}; pass a whole number such as "
            f"{name}={max(minimum or 0, 1)}."
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {number}.")
    return number


def path(name: str, value: object) -> Path:
    """A ``str`` or ``os.PathLike``, as a :class:`pathlib.Path`."""
    require_type(name, value, (str, os.PathLike), "a str or os.PathLike (e.g. a pathlib.Path)")
    return Path(value)


def boolean(name: str, value: object) -> bool:
    """True or False only: a string such as "False" or "no" is truthy, so it is refused."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {_got(value)}.")
    return value


def real(name: str, value: object, *, positive: bool = False) -> float:
    """A finite real number that is >= 0 (> 0 with ``positive``); NaN and inf are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_got(value)}.")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        sign = "positive" if positive else "zero or positive"
        raise ValueError(f"{name}={value} must be a finite, {sign} number.")
    return number


def tensor(name: str, value: object) -> torch.Tensor:
    """A ``torch.Tensor``."""
    return require_type(name, value, torch.Tensor, "a torch.Tensor", "use torch.tensor(data)")


def module(name: str, value: object) -> torch.nn.Module:
    """A ``torch.nn.Module``; a state dict passed by mistake gets its own hint."""
    if isinstance(value, dict):
        raise TypeError(
            f"{name} must be a torch.nn.Module, got {type(value).__name__} (a state dict?); "
            f"pass the model itself, not model.state_dict()."
        )
    return require_type(name, value, torch.nn.Module, "a torch.nn.Module")


def optimizer(name: str, value: object) -> torch.optim.Optimizer:
    """A ``torch.optim.Optimizer``."""
    fix = "build one with e.g. torch.optim.SGD(model.parameters(), lr=0.1)"
    return require_type(name, value, torch.optim.Optimizer, "a torch.optim.Optimizer", fix)


def function(name: str, value: object) -> Any:
    """Something callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_got(value)}; pass a function or a module.")
    return value


def same_batch(inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Inputs and targets with one target per sample: the same size along dimension 0."""
    if inputs.dim() and targets.dim() and len(inputs) != len(targets):
        raise ValueError(
            f"targets has batch size {len(targets)} (shape {tuple(targets.shape)}) but inputs "
            f"has {len(inputs)} (shape {tuple(inputs.shape)}); pass one target per input sample."
        )


def device(name: str, value: object) -> torch.device:
    """A ``torch.device``, or a name torch reads as one (``"cpu"``, ``"cuda:1"`` ...)."""
    require_type(name, value, (str, torch.device), "a str or a torch.device", "pass e.g. 'cuda:0'")
    try:
        return torch.device(value)
    except RuntimeError:
        raise ValueError(
            f"{name}={value!r} is not a device name; use 'cpu', 'cuda', 'cuda:N' or 'mps' "
            "(lower case)"
        ) from None
