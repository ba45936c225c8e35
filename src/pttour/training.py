"""§4.2 Autograd and one correct optimisation step.

A training step has four parts, in this order: clear the old gradients, run the
model and the loss, call ``backward()`` to fill every parameter's ``.grad`` with
the gradient of the loss with respect to that parameter, and call
``optimizer.step()`` to change the parameters. ``backward()`` never changes a
parameter, and the gradients it computes are taken with respect to the
parameters, not with respect to the model's output or its input data.

Two mistakes are easy to make and silent:

* PyTorch *adds* new gradients to ``.grad``; without ``optimizer.zero_grad()``
  each step uses the sum of all earlier gradients.
* Element-wise losses such as :class:`torch.nn.MSELoss` broadcast their
  arguments. An output of shape ``(100, 1)`` against a target of shape
  ``(100, 2)`` is compared as ``(100, 2)`` and yields a wrong loss with only a
  warning. :func:`check_same_shape` turns that into an error.

:func:`train_step` packages one step (optionally in mixed precision),
:func:`fit` loops it over a :class:`torch.utils.data.DataLoader`, and
:func:`linear_data` makes a small reproducible regression problem.

>>> import torch
>>> from torch import nn
>>> from torch.utils.data import DataLoader, TensorDataset
>>> X, y = linear_data(256)
>>> model = nn.Linear(2, 1)
>>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> history = fit(model, loader, nn.MSELoss(), optimizer, epochs=30)
>>> history.final_loss < 1e-4
True
>>> [round(w, 2) for w in model.weight.flatten().tolist()], round(model.bias.item(), 2)
([3.0, 1.0], 4.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "History",
    "check_same_shape",
    "fit",
    "linear_data",
    "train_step",
]

# Autocast only lowers precision to these; anything else is either a no-op or a warning.
_AUTOCAST_DTYPES = (torch.float16, torch.bfloat16)


def check_same_shape(output: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless the model output and the target have the same shape.

    Element-wise losses (``MSELoss``, ``L1Loss``, ``BCELoss`` ...) broadcast
    their two arguments. When the target was built with the wrong shape the
    loss compares every output with every target column, returns a plausible
    but wrong number, and PyTorch only warns. Call this before such a loss to
    make the mistake an error.

    >>> import torch
    >>> check_same_shape(torch.zeros(100, 1), torch.zeros(100, 1))
    >>> check_same_shape(torch.zeros(100, 1), torch.zeros(100, 2))
    Traceback (most recent call last):
        ...
    ValueError: output shape (100, 1) and target shape (100, 2) differ; an element-wise loss
    such as MSELoss would broadcast them to (100, 2) and compare the wrong elements. ...

    Parameters
    ----------
    output : torch.Tensor
        What the model returned.
    target : torch.Tensor
        What the loss compares it with.

    Raises
    ------
    ValueError
        If the two shapes differ; the message names both shapes and a fix.
    """
    if output.shape == target.shape:
        return
    out_shape, tgt_shape = tuple(output.shape), tuple(target.shape)
    try:
        broadcast = tuple(torch.broadcast_shapes(output.shape, target.shape))
        what = (
            f"an element-wise loss such as MSELoss would broadcast them to {broadcast} "
            "and compare the wrong elements"
        )
    except RuntimeError:
        what = "they cannot even be broadcast together"
    if output.numel() == target.numel():
        fix = f"Make them equal, e.g. target.view({', '.join(map(str, out_shape))})."
    else:
        fix = (
            "Make them equal: build the target with the model's output shape "
            f"{out_shape}, or change the model's output size."
        )
    raise ValueError(f"output shape {out_shape} and target shape {tgt_shape} differ; {what}. {fix}")


def _validate_amp(scaler: torch.amp.GradScaler | None, autocast_dtype: torch.dtype | None) -> None:
    """Reject mixed-precision settings that torch would ignore or only warn about."""
    if autocast_dtype is not None and autocast_dtype not in _AUTOCAST_DTYPES:
        raise ValueError(
            f"autocast_dtype={autocast_dtype} is not a reduced precision autocast supports; "
            "use torch.bfloat16 or torch.float16, or None for full precision."
        )
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(
            f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}; "
            'create one with torch.amp.GradScaler("cuda").'
        )


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

    The order matters: gradients are cleared first (PyTorch accumulates them),
    ``backward()`` fills ``.grad`` of every parameter with d(loss)/d(parameter)
    and changes no parameter, and only ``optimizer.step()`` moves the
    parameters. With ``autocast_dtype`` the forward pass and the loss run under
    :func:`torch.autocast` on the inputs' device type; with a
    :class:`torch.amp.GradScaler` the loss is scaled before ``backward()`` so
    float16 gradients do not underflow, and the scaler unscales them and skips
    steps whose gradients overflowed.

    >>> import torch
    >>> from torch import nn
    >>> X, y = linear_data(64)
    >>> model = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_(), model.bias.zero_()
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> losses = [train_step(model, X, y, nn.MSELoss(), optimizer) for _ in range(3)]
    >>> [round(loss, 2) for loss in losses]
    [35.47, 17.51, 8.67]
    >>> train_step(model, X, y.view(-1), nn.MSELoss(), optimizer)
    Traceback (most recent call last):
        ...
    ValueError: output shape (64, 1) and target shape (64,) differ; ...

    Parameters
    ----------
    model : torch.nn.Module
        The model; its parameters are those the optimizer updates.
    inputs, targets : torch.Tensor
        One batch, already on the model's device.
    loss_fn : callable
        ``loss_fn(output, targets)`` returning a scalar tensor.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``.
    scaler : torch.amp.GradScaler, optional
        Loss scaling for float16 mixed precision (not needed for bfloat16).
    autocast_dtype : torch.dtype, optional
        ``torch.bfloat16`` or ``torch.float16`` to run the forward pass in mixed precision.
    check_shapes : bool, default True
        Call :func:`check_same_shape` on the output and the targets. Turn it off
        only for losses whose target legitimately has another shape, such as
        ``CrossEntropyLoss`` with class indices.

    Raises
    ------
    ValueError
        If the output and target shapes differ (see :func:`check_same_shape`),
        the loss is not a single value, or ``autocast_dtype`` is not a reduced
        float type.
    TypeError
        If ``scaler`` is not a :class:`torch.amp.GradScaler`.
    """
    _validate_amp(scaler, autocast_dtype)
    # set_to_none frees the old gradient tensors instead of writing zeros into them.
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(
        device_type=inputs.device.type,
        dtype=autocast_dtype,
        enabled=autocast_dtype is not None,
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
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.item()


@dataclass
class History:
    """The mean training loss of each epoch, as returned by :func:`fit`.

    Each epoch's value is the mean of the batch losses weighted by batch size,
    so a short last batch counts for what it holds and the value equals the
    loss over the whole epoch's data (for losses with ``reduction='mean'``).

    >>> history = History([4.0, 1.0, 0.25])
    >>> history.final_loss
    0.25
    >>> len(history.epoch_losses)
    3

    Parameters
    ----------
    epoch_losses : list of float
        One mean loss per epoch, in order.

    Raises
    ------
    ValueError
        From :attr:`final_loss` when no epoch was recorded.
    """

    epoch_losses: list[float]

    @property
    def final_loss(self) -> float:
        """The mean loss of the last epoch."""
        if not self.epoch_losses:
            raise ValueError("History has no epochs yet; run fit(..., epochs=1) or more first.")
        return self.epoch_losses[-1]


def _model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer, or None if it has neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


def _same_device(a: torch.device, b: torch.device) -> bool:
    """Whether two devices are the same, treating ``cuda`` as the current ``cuda:N``."""
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index


def _resolve_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The device batches must go to: the model's, checked against ``device`` if given."""
    model_device = _model_device(model)
    if device is None:
        return model_device if model_device is not None else torch.device("cpu")
    device = torch.device(device)
    if model_device is not None and not _same_device(model_device, device):
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

    Each batch ``(inputs, targets)`` is moved to the device the model lives on
    and passed to :func:`train_step`, so gradients are cleared on every step
    and shape mistakes stop the run. The model is put in training mode first.

    >>> import torch
    >>> from torch import nn
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> X, y = linear_data(100, weights=(2.0,), bias=-1.0)
    >>> model = nn.Linear(1, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=25)
    >>> history = fit(model, loader, nn.MSELoss(), optimizer, epochs=40)
    >>> len(history.epoch_losses), history.final_loss < 1e-4
    (40, True)

    Parameters
    ----------
    model : torch.nn.Module
        The model, already on its device.
    loader : iterable of (inputs, targets)
        Typically a :class:`torch.utils.data.DataLoader`; iterated once per epoch.
    loss_fn : callable
        ``loss_fn(output, targets)`` returning a scalar tensor with ``reduction='mean'``.
    optimizer : torch.optim.Optimizer
        Built over ``model.parameters()``.
    epochs : int
        Number of passes over ``loader``; at least 1.
    device : torch.device or str, optional
        Where batches go; defaults to the device of the model's parameters and
        must agree with it when given.
    scaler, autocast_dtype, check_shapes
        Passed to :func:`train_step`.

    Raises
    ------
    ValueError
        If ``epochs`` < 1, ``device`` differs from the model's device, the loader
        yields no batch or a batch that is not an (inputs, targets) pair, or a
        step fails as described in :func:`train_step`.
    TypeError
        If ``epochs`` is not an int.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError(f"epochs must be an int, got {epochs!r}; pass e.g. epochs=10.")
    if epochs < 1:
        raise ValueError(f"epochs={epochs} trains nothing; pass epochs=1 or more.")
    _validate_amp(scaler, autocast_dtype)
    target_device = _resolve_device(model, device)
    model.train()
    history = History(epoch_losses=[])
    for epoch in range(epochs):
        total, count = 0.0, 0
        for batch in loader:
            if len(batch) != 2:
                raise ValueError(
                    f"the loader yielded a batch of {len(batch)} items; fit expects "
                    "(inputs, targets) pairs, e.g. DataLoader(TensorDataset(X, y))."
                )
            inputs, targets = (t.to(target_device, non_blocking=True) for t in batch)
            loss = train_step(
                model,
                inputs,
                targets,
                loss_fn,
                optimizer,
                scaler=scaler,
                autocast_dtype=autocast_dtype,
                check_shapes=check_shapes,
            )
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


def linear_data(
    n_samples: int,
    *,
    weights: Sequence[float] = (3.0, 1.0),
    bias: float = 4.0,
    noise_std: float = 0.0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make a regression problem ``y = X @ weights + bias (+ noise)`` with matching shapes.

    ``X`` has one column per weight and ``y`` has shape ``(n_samples, 1)``,
    exactly what ``nn.Linear(len(weights), 1)`` outputs, so the loss never has
    to broadcast. The data come from a private :class:`torch.Generator`, so the
    same ``seed`` gives the same data and the global random state is untouched.

    >>> X, y = linear_data(100)
    >>> X.shape, y.shape, X.dtype
    (torch.Size([100, 2]), torch.Size([100, 1]), torch.float32)
    >>> bool(torch.allclose(y, 3 * X[:, :1] + X[:, 1:] + 4))
    True
    >>> bool(torch.equal(linear_data(5, seed=1)[0], linear_data(5, seed=1)[0]))
    True

    Parameters
    ----------
    n_samples : int
        Number of rows; at least 1.
    weights : sequence of float, default (3.0, 1.0)
        One coefficient per feature; ``X`` is uniform in [0, 1).
    bias : float, default 4.0
        Added to every target.
    noise_std : float, default 0.0
        Standard deviation of Gaussian noise added to ``y``.
    seed : int, default 0
        Seed of the private generator.

    Raises
    ------
    ValueError
        If ``n_samples`` < 1, ``weights`` is empty, or ``noise_std`` < 0.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples} makes no data; pass n_samples=1 or more.")
    if len(weights) == 0:
        raise ValueError("weights is empty; pass at least one coefficient, e.g. weights=(3.0,).")
    if noise_std < 0:
        raise ValueError(f"noise_std={noise_std} is negative; pass 0.0 or more.")
    generator = torch.Generator().manual_seed(seed)
    w = torch.tensor([float(v) for v in weights]).view(-1, 1)
    X = torch.rand(n_samples, len(weights), generator=generator)
    y = X @ w + float(bias)
    if noise_std > 0:
        y = y + noise_std * torch.randn(n_samples, 1, generator=generator)
    return X, y
