"""Creating tensors and describing them: shape, number of elements, dtype, device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from pttour import _checks
from pttour.devices import pick_device

__all__ = ["TensorInfo", "describe", "make_tensor"]

# Python types people pass as dtype, and the torch dtype they mean.
_DTYPE_HINTS = {"float": "float64", "int": "int64", "bool": "bool", "complex": "complex128"}


@dataclass(frozen=True)
class TensorInfo:
    """The properties that describe a tensor, without its values.

    ``shape`` (size along each dimension), ``ndim`` (how many dimensions) and ``numel`` (how many
    elements, the product of the shape) side by side, so the three cannot be confused.

    >>> print(describe(torch.zeros(2, 3)))
    shape (2, 3), ndim 2, numel 6, dtype torch.float32, device cpu, requires_grad False
    """

    shape: tuple[int, ...]
    ndim: int
    numel: int
    dtype: torch.dtype
    device: torch.device
    requires_grad: bool

    def __str__(self) -> str:
        return (
            f"shape {self.shape}, ndim {self.ndim}, numel {self.numel}, dtype {self.dtype}, "
            f"device {self.device}, requires_grad {self.requires_grad}"
        )


def describe(tensor: torch.Tensor) -> TensorInfo:
    """Return the shape, ndim, numel, dtype, device and requires_grad of a tensor.

    >>> info = describe(torch.ones(2, 3, dtype=torch.int32))
    >>> info.shape, info.ndim, info.numel, info.dtype
    ((2, 3), 2, 6, torch.int32)
    >>> describe(torch.tensor(3.5)).shape, describe(torch.tensor(3.5)).numel
    ((), 1)
    """
    _checks.require_type(
        "tensor", tensor, torch.Tensor, "a torch.Tensor", "convert it first, e.g. make_tensor(data)"
    )
    t = tensor
    return TensorInfo(tuple(t.shape), t.ndim, t.numel(), t.dtype, t.device, t.requires_grad)


def make_tensor(
    data: Any,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    requires_grad: bool = False,
) -> torch.Tensor:
    """Create a tensor from Python data (or a NumPy array), with checks and clear errors.

    ``torch.tensor`` (not the legacy ``torch.Tensor``, which rejects ``dtype=``), with errors that
    say what to do where it is silent or cryptic: a dtype that is not a ``torch.dtype``, data that
    is already a tensor (it only warns), ragged rows, a device this machine lacks, and
    ``requires_grad=True`` on integers. Without ``dtype``, ints give int64, floats float32.

    >>> x = make_tensor([[1, 2]], dtype=torch.int32)
    >>> x
    tensor([[1, 2]], dtype=torch.int32)
    >>> x.shape, x.numel()
    (torch.Size([1, 2]), 2)
    >>> make_tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(
            f"dtype must be a torch.dtype, got {dtype!r} ({type(dtype).__name__}); "
            f"pass e.g. dtype={_suggest_dtype(dtype)}"
        )
    if data is None:
        raise TypeError("data must be numbers or (nested) lists of them, got None.")
    _checks.boolean("requires_grad", requires_grad)
    if isinstance(data, torch.Tensor):
        raise TypeError(
            "data is already a torch.Tensor; to change its dtype or device use "
            "tensor.to(dtype=..., device=...), and for an independent copy use "
            "tensor.clone().detach()"
        )
    # pick_device says why a device is not usable here (torch would only fail an assertion).
    device = None if device is None else pick_device(device)
    # Create first, check after: without an explicit dtype, integer-ness is only known
    # once torch has inferred it from the data.
    try:
        tensor = torch.tensor(data, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as err:  # text, ragged rows, overflow
        raise ValueError(
            f"data cannot be made into a tensor ({err}); pass numbers, or lists of equal length "
            "nested one level per dimension (pad ragged rows, e.g. with "
            "torch.nn.utils.rnn.pad_sequence)."
        ) from err
    if requires_grad:
        if not (tensor.is_floating_point() or tensor.is_complex()):
            if dtype is None:
                origin, fix = "inferred from the data", "write the values as floats (1.0, not 1)"
            else:
                origin, fix = "requested", "pass a floating dtype such as dtype=torch.float32"
            raise ValueError(
                f"requires_grad=True needs a floating point or complex dtype, but the dtype is "
                f"{tensor.dtype} ({origin}); only floating point and complex tensors can require "
                f"gradients, so {fix}"
            )
        tensor.requires_grad_(True)
    return tensor


def _suggest_dtype(value: object) -> str:
    """Name the torch dtype that a str, Python type or NumPy dtype most likely means."""
    name = value if isinstance(value, str) else getattr(value, "name", None)  # NumPy's dtypes
    if not isinstance(name, str):
        name = getattr(value, "__name__", "")  # Python's types
    name = _DTYPE_HINTS.get(name, name).removeprefix("torch.")
    is_dtype = isinstance(getattr(torch, name, None), torch.dtype)
    return f"torch.{name}" if is_dtype else "torch.int32 or torch.float32"
