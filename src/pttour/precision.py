"""Mixed precision: which dtype each layer really runs in, and when a gradient scaler is needed.

Under :func:`torch.autocast` the parameters stay float32; matrix products run in the reduced
type, operations that lose too much in 16 bits (losses; on CUDA also ``softmax``, ``exp`` ...) in
float32, the rest in the dtype of their input. :func:`autocast_dtypes` shows it layer by layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pttour import _checks

__all__ = ["autocast_dtypes", "default_amp_dtype", "make_grad_scaler"]

_REDUCED_DTYPES = (torch.float16, torch.bfloat16)
_DEVICE_TYPES = ("cpu", "cuda")


def _check_device_type(device_type: object, name: str = "device_type") -> str:
    """Return ``device_type`` if it is 'cpu', or 'cuda' with a GPU, else raise naming it."""
    if device_type not in _DEVICE_TYPES:
        raise ValueError(
            f"{name}={device_type!r} is not supported here; use 'cpu' or 'cuda' (the device type "
            "of the model and its inputs, e.g. inputs.device.type)."
        )
    if device_type == "cuda" and not torch.cuda.is_available():  # autocast would only warn
        raise ValueError(
            f"{name}='cuda' but torch.cuda.is_available() is False, so autocast would be "
            f"disabled with only a warning; use {name}='cpu' with dtype=torch.bfloat16."
        )
    return device_type  # type: ignore[return-value]


def _check_reduced_dtype(device_type: str, dtype: object, name: str = "dtype") -> torch.dtype:
    """Return ``dtype`` if autocast on ``device_type`` should use it, else explain why not."""
    _checks.require_type(name, dtype, torch.dtype, "a torch.dtype such as torch.bfloat16")
    if dtype not in _REDUCED_DTYPES:
        raise ValueError(
            f"{name}={dtype} is not a reduced precision for autocast; use torch.bfloat16 "
            "or torch.float16 (or no autocast at all for full float32)."
        )
    if device_type == "cpu" and dtype == torch.float16:
        raise ValueError(
            f"{name}=torch.float16 on device_type='cpu' is refused: most CPUs have no fast "
            "float16 arithmetic, so it is usually slower than float32, and older torch "
            "releases disable it with only a warning. CPUs accelerate bfloat16: use "
            f"{name}=torch.bfloat16 on the CPU and keep float16 for CUDA GPUs."
        )
    return dtype


def _tensors(value: object) -> list[torch.Tensor]:
    """Every tensor in ``value``: a tensor, or (nested) tuples, lists and dicts of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (tuple, list, dict)):
        return [tensor for item in items for tensor in _tensors(item)]
    return []


def autocast_dtypes(
    model: nn.Module,
    inputs: torch.Tensor | Sequence[torch.Tensor],
    *,
    device_type: str = "cpu",
    dtype: torch.dtype = torch.bfloat16,
) -> dict[str, torch.dtype]:
    """Run one forward pass under autocast and report the output dtype of every leaf module.

    Mixed precision does not convert the model to 16 bits: autocast picks a dtype per operation.
    Each leaf module's first output dtype is reported under its name in ``named_modules()``, in
    call order. The pass runs in eval mode under ``torch.no_grad()`` and changes no parameter,
    buffer or ``.grad``; a tuple or list of inputs is unpacked into ``model(*inputs)``.

    >>> _ = torch.manual_seed(0)
    >>> model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.LayerNorm(4))
    >>> autocast_dtypes(model, torch.tensor([[1, 2, 3]]))
    {'0': torch.float32, '1': torch.bfloat16, '2': torch.bfloat16}
    >>> {p.dtype for p in model.parameters()}  # the parameters were not converted
    {torch.float32}
    """
    _checks.module("model", model)
    device_type = _check_device_type(device_type)
    dtype = _check_reduced_dtype(device_type, dtype)
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not _tensors(args):
        raise TypeError(
            f"inputs must be a tensor or a tuple or list of tensors, got {inputs!r:.60} "
            f"({type(inputs).__name__}); pass one batch, e.g. torch.rand(8, 4)."
        )
    # Autocast only affects operations on its own device type: a mismatch would report
    # float32 everywhere and suggest that autocast does nothing.
    placed = [("inputs", tensor.device) for tensor in _tensors(args)]
    placed += [("model's parameters", tensor.device) for tensor in model.parameters()]
    for what, device in placed:
        if device.type != device_type:
            raise ValueError(
                f"the {what} are on {device} but device_type={device_type!r}; autocast "
                f"would not touch them. Move them with .to({device_type!r}) or pass "
                f"device_type={device.type!r}."
            )

    leaves = {
        m: name or type(model).__name__
        for name, m in model.named_modules()
        if not any(m.children())
    }
    recorded: dict[str, torch.dtype] = {}

    def hook(module: nn.Module, _args: object, output: object) -> None:
        tensors = _tensors(output)
        if module in leaves and tensors:  # a shared module: its first call counts
            recorded.setdefault(leaves[module], tensors[0].dtype)

    training = {module: module.training for module in model.modules()}
    handle = nn.modules.module.register_module_forward_hook(hook)
    try:
        model.eval()
        with torch.no_grad(), torch.autocast(device_type=device_type, dtype=dtype):
            model(*args)
    finally:
        handle.remove()
        for module, was_training in training.items():
            module.training = was_training
    return recorded


def default_amp_dtype(device: torch.device | str) -> torch.dtype:
    """Return the reduced precision to autocast to on ``device``: bfloat16 where it is fast.

    bfloat16 has float32's exponent range and needs no loss scaling; CPUs and CUDA GPUs of
    compute capability 8.0 or newer run it natively. Older GPUs (V100, T4) get float16, with the
    scaler :func:`make_grad_scaler` returns.

    >>> default_amp_dtype("cpu")
    torch.bfloat16
    >>> default_amp_dtype("mps")
    Traceback (most recent call last):
        ...
    ValueError: device='mps' is not supported here; ...
    """
    device = _checks.device("device", device)
    if _check_device_type(device.type, "device") == "cpu":
        return torch.bfloat16
    if torch.version.hip is None:
        # Capability, not torch.cuda.is_bf16_supported(): that also counts slow emulation.
        native_bf16 = torch.cuda.get_device_capability(device) >= (8, 0)
    else:
        native_bf16 = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if native_bf16 else torch.float16


def make_grad_scaler(device: torch.device | str, dtype: torch.dtype) -> torch.amp.GradScaler:
    """Return a ``torch.amp.GradScaler`` that is enabled only for float16 on CUDA.

    In float16 a gradient below about 3e-8 becomes zero; the scaler multiplies the loss before
    ``backward()`` and unscales before the step. For bfloat16, float32 and the CPU it comes back
    disabled (a plain ``backward()`` and ``step()``), so one training loop fits every choice.

    >>> make_grad_scaler("cpu", torch.bfloat16).is_enabled()
    False
    >>> make_grad_scaler("cpu", torch.float32).is_enabled()
    False
    >>> make_grad_scaler("cpu", torch.int8)
    Traceback (most recent call last):
        ...
    ValueError: dtype=torch.int8 is not a training precision; ...
    """
    device_type = _check_device_type(_checks.device("device", device).type, "device")
    if dtype not in (torch.float32, *_REDUCED_DTYPES):
        raise ValueError(
            f"dtype={dtype} is not a training precision; pass torch.float16 or "
            "torch.bfloat16 (the autocast dtype), or torch.float32 without autocast."
        )
    if dtype != torch.float32:
        _check_reduced_dtype(device_type, dtype)
    return torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)
