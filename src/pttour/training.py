"""§4.2 Autograd and one correct optimisation step.

A training step clears the old gradients, runs the model and the loss, calls ``backward()`` to fill
each parameter's ``.grad`` with d(loss)/d(parameter) (it changes no parameter), and only then calls
``optimizer.step()``. :func:`train_step` is one such step, optionally in mixed precision;
:func:`fit` loops it over a :class:`torch.utils.data.DataLoader`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from pttour import _checks
from pttour.precision import _check_reduced_dtype

__all__ = ["History", "check_same_shape", "fit", "train_step"]


def check_same_shape(output: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless the model output and the target have the same shape.

    Element-wise losses (``MSELoss``, ``L1Loss`` ...) broadcast their arguments: a target of the
    wrong shape gives a plausible but wrong loss, and PyTorch only warns.

    >>> check_same_shape(torch.zeros(100, 1), torch.zeros(100, 1))
    >>> check_same_shape(torch.zeros(100, 1), torch.zeros(100, 2))
    Traceback (most recent call last):
        ...
    ValueError: output shape (100, 1) and target shape (100, 2) differ; an element-wise loss
    such as MSELoss would broadcast them to (100, 2) and compare the wrong elements. ...
    """
    _checks.tensor("output", output)
    _checks.tensor("target", target)
    if output.shape == target.shape:
        return
    out_shape, tgt_shape = tuple(output.shape), tuple(target.shape)
    try:
        broadcast = tuple(torch.broadcast_shapes(output.shape, target.shape))
        what = f"an element-wise loss such as MSELoss would broadcast them to {broadcast} and "
        what += "compare the wrong elements"
    except RuntimeError:
        what = "they cannot even be broadcast together"
    fix = f"Make them equal, e.g. target.view({', '.join(map(str, out_shape))})."
    if output.numel() != target.numel():
        fix = f"Make them equal: build the target with the model's output shape {out_shape}."
    raise ValueError(f"output shape {out_shape} and target shape {tgt_shape} differ; {what}. {fix}")


def _check_amp(device_type: str, scaler: object, autocast_dtype: object) -> None:
    """Reject mixed-precision settings that torch would ignore or only warn about."""
    if autocast_dtype is not None:
        _check_reduced_dtype(device_type, autocast_dtype, "autocast_dtype")
    if scaler is not None:
        _checks.require_type("scaler", scaler, torch.amp.GradScaler, "a torch.amp.GradScaler")


def train_step(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    scaler: torch.amp.GradScaler | None = None,
    autocast_dtype: torch.dtype | None = None,
    check_shapes: bool = True,
) -> float:
    """Run one optimisation step and return the loss it started from.

    Gradients are cleared first (PyTorch accumulates them), then ``backward()`` and
    ``optimizer.step()``. With ``autocast_dtype`` the forward pass runs under
    :func:`torch.autocast`; a :class:`torch.amp.GradScaler` scales the loss so float16
    gradients do not underflow. Refused, where plain PyTorch carries on: a target of another
    shape (unless ``check_shapes=False``, e.g. for class indices), an optimizer over another
    model's parameters, float16 autocast on the CPU, and a loss that is NaN or inf.

    >>> X = torch.rand(64, 2, generator=torch.Generator().manual_seed(0))
    >>> y = X @ torch.tensor([[3.0], [1.0]]) + 4
    >>> model = nn.Linear(2, 1)
    >>> _ = nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> [round(train_step(model, X, y, nn.MSELoss(), optimizer), 2) for _ in range(3)]
    [35.47, 17.51, 8.67]
    >>> train_step(model, X, y.view(-1), nn.MSELoss(), optimizer)
    Traceback (most recent call last):
        ...
    ValueError: output shape (64, 1) and target shape (64,) differ; ...
    """
    _checks.module("model", model)
    _checks.tensor("inputs", inputs)
    _checks.tensor("targets", targets)
    _checks.function("loss_fn", loss_fn)
    _checks.optimizer("optimizer", optimizer)
    _checks.boolean("check_shapes", check_shapes)
    _check_amp(inputs.device.type, scaler, autocast_dtype)
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(
            "the optimizer updates none of the model's parameters (it was built over another "
            "model, or a copy of this one), so every step would change nothing. Build it from "
            "this model: torch.optim.SGD(model.parameters(), lr=...)."
        )
    # set_to_none frees the old gradient tensors instead of writing zeros into them.
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(
        device_type=inputs.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None
    ):
        output = model(inputs)
        if check_shapes:
            check_same_shape(output, targets)
        loss = loss_fn(output, targets)
    if loss.numel() != 1:
        raise ValueError(
            f"loss_fn returned a tensor of shape {tuple(loss.shape)}, not a single value; "
            "use a reduction such as reduction='mean'."
        )
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(
            f"the loss is {value}, so backward() would make every gradient NaN and the step "
            "would ruin the weights; nothing was changed. Check the batch for NaN and inf "
            "(torch.isfinite(inputs).all()), or lower the learning rate if the loss was growing."
        )
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return value


@dataclass
class History:
    """The mean training loss of each epoch, as returned by :func:`fit`.

    Batch losses are weighted by batch size, so a short last batch counts for what it holds.

    >>> History([4.0, 1.0, 0.25]).final_loss
    0.25
    """

    epoch_losses: list[float]

    @property
    def final_loss(self) -> float:
        """The mean loss of the last epoch."""
        if not self.epoch_losses:
            raise ValueError("History has no epochs yet; run fit(..., epochs=1) or more first.")
        return self.epoch_losses[-1]


def _resolve_device(model: nn.Module, device: object) -> torch.device:
    """The device batches must go to: the model's, checked against ``device`` if given."""
    model_device = next((t.device for t in (*model.parameters(), *model.buffers())), None)
    if device is None:
        return model_device or torch.device("cpu")
    device = _checks.device("device", device)
    if model_device is not None and (
        model_device.type != device.type or device.index not in (None, model_device.index)
    ):
        raise ValueError(
            f"device={str(device)!r} but the model's parameters are on {model_device}; "
            "call model.to(device) before creating the optimizer, then call fit."
        )
    return device


def fit(
    model: nn.Module,
    loader: Iterable[Sequence[torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device | str | None = None,
    scaler: torch.amp.GradScaler | None = None,
    autocast_dtype: torch.dtype | None = None,
    check_shapes: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader`` and return the loss history.

    Each ``(inputs, targets)`` batch goes to the model's device and through :func:`train_step`
    (``scaler``, ``autocast_dtype`` and ``check_shapes`` are passed on). The model is put in
    training mode first.

    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> X = torch.rand(100, 1, generator=torch.Generator().manual_seed(0))
    >>> y = 2 * X - 1
    >>> model = nn.Linear(1, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=25)
    >>> history = fit(model, loader, nn.MSELoss(), optimizer, epochs=40)
    >>> len(history.epoch_losses), history.final_loss < 1e-4
    (40, True)

    A loss that is NaN or inf raises ``FloatingPointError`` naming the epoch and the batch.
    """
    _checks.module("model", model)
    _checks.require_type("loader", loader, Iterable, "an iterable of batches, e.g. a DataLoader")
    _checks.function("loss_fn", loss_fn)
    _checks.optimizer("optimizer", optimizer)
    _checks.integer("epochs", epochs, minimum=1)
    target_device = _resolve_device(model, device)
    _check_amp(target_device.type, scaler, autocast_dtype)
    model.train()
    history = History(epoch_losses=[])
    options = {"scaler": scaler, "autocast_dtype": autocast_dtype, "check_shapes": check_shapes}
    for epoch in range(epochs):
        total, count = 0.0, 0
        for number, batch in enumerate(loader, start=1):
            if not isinstance(batch, (tuple, list)):
                kind = type(batch).__name__
                if isinstance(batch, Mapping):
                    kind = f"dicts with the keys {sorted(batch)}"
                raise TypeError(
                    f"fit expects (inputs, targets) pairs, but the loader yields {kind}. Make "
                    "the dataset return (input, target), or write the loop yourself."
                )
            if len(batch) != 2:
                raise ValueError(
                    f"the loader yielded a batch of {len(batch)} items; fit expects "
                    "(inputs, targets) pairs, e.g. DataLoader(TensorDataset(X, y))."
                )
            inputs, targets = (
                _checks.tensor(f"batch[{i}]", t).to(target_device, non_blocking=True)
                for i, t in enumerate(batch)
            )
            try:
                loss = train_step(model, inputs, targets, loss_fn, optimizer, **options)
            except FloatingPointError as err:
                raise FloatingPointError(
                    f"fit stopped in epoch {epoch + 1} of {epochs}, at batch {number} (both "
                    f"counted from 1): {err}"
                ) from None
            # Weight by batch size so a short last batch does not count as a full one.
            total += loss * len(inputs)
            count += len(inputs)
        if count == 0:
            raise ValueError(
                f"the loader yielded no samples in epoch {epoch + 1}; check the dataset "
                "is not empty and drop_last does not discard its only batch."
            )
        history.epoch_losses.append(total / count)
    return history
