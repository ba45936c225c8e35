"""torch.func: gradients as functions, batched with vmap, per-sample gradients.

Combined, ``vmap(grad(loss_of_one_sample))`` gives the gradient of every sample of a batch
separately, which ``loss.backward()`` cannot: it only ever stores the sum (or mean) over the batch.
:func:`per_sample_gradients` does that; :func:`per_sample_gradients_loop` is the slow reference with
one backward pass per sample.

>>> import torch
>>> from torch.func import grad, jacrev, vmap
>>> x = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
>>> torch.allclose(vmap(grad(torch.sin))(x), torch.cos(x))
True
>>> jacrev(lambda v: v**2)(x)
tensor([[0., 0., 0.],
        [0., 2., 0.],
        [0., 0., 4.]], dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from pttour import _checks

__all__ = ["per_sample_gradients", "per_sample_gradients_loop"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _validate_batch(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise ``ValueError`` unless inputs and targets form one batch a model can split."""
    _checks.module("model", model)
    for name, tensor in (("inputs", inputs), ("targets", targets)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(tensor).__name__}.")
        if tensor.dim() == 0:
            raise ValueError(
                f"{name} is a 0-dimensional tensor; per-sample gradients need a batch "
                "dimension first, e.g. tensor.unsqueeze(0) for one sample."
            )
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs have batch size {inputs.shape[0]} (shape {tuple(inputs.shape)}) but "
            f"targets have batch size {targets.shape[0]} (shape {tuple(targets.shape)}); "
            "pass one target per input sample."
        )
    if inputs.shape[0] == 0:
        raise ValueError("the batch is empty (batch size 0); pass at least one sample.")
    for name, module in model.named_modules():
        # Batch norm in training mode mixes the samples of a batch, so no sample
        # has a gradient of its own.
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            raise ValueError(
                f"module {name or type(module).__name__!r} is batch norm in training mode, "
                "which mixes samples, so per-sample gradients are undefined; call "
                "model.eval() first, or use a per-sample normalisation such as nn.GroupNorm."
            )
    parameter = next(model.parameters(), None)
    if parameter is not None and inputs.device != parameter.device:
        raise ValueError(
            f"inputs are on {inputs.device} but the model's parameters are on "
            f"{parameter.device}; move them with inputs.to({str(parameter.device)!r})."
        )


def _trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that require grad, by name; raise if there are none."""
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not trainable:
        raise ValueError(
            "the model has no parameter that requires grad, so there is no gradient to "
            "compute; unfreeze one with parameter.requires_grad_(True)."
        )
    return trainable


def _require_scalar_loss(loss: torch.Tensor) -> None:
    """Raise ``ValueError`` unless the loss of one sample is a 0-dimensional tensor."""
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn returned {shape} for a batch of one sample; it must return a single "
            "value (a 0-dimensional tensor), e.g. a loss with reduction='mean' or 'sum'."
        )


def per_sample_gradients(
    model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The gradient of each sample's loss for every trainable parameter, in one batched pass.

    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    >>> inputs = torch.linspace(-1, 1, 15, dtype=torch.float64).view(5, 3)
    >>> targets = torch.linspace(0, 1, 5, dtype=torch.float64).view(5, 1)
    >>> grads = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    >>> {name: tuple(g.shape) for name, g in grads.items()}
    {'0.weight': (5, 4, 3), '0.bias': (5, 4), '2.weight': (5, 1, 4), '2.bias': (5, 1)}
    >>> loop = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    >>> all(torch.allclose(grads[name], loop[name]) for name in grads)
    True
    >>> per_sample_gradients(model, nn.MSELoss(), inputs, targets[:4])
    Traceback (most recent call last):
        ...
    ValueError: inputs have batch size 5 (shape (5, 3)) but targets have batch size 4 ...

    Returns
    -------
    dict of str to torch.Tensor
        For each trainable parameter name (in ``named_parameters()`` order) a
        tensor of shape ``(batch, *parameter.shape)``.
    """
    _validate_batch(model, inputs, targets)
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.training and module.p > 0:
            raise ValueError(
                f"module {name!r} is dropout in training mode; vmap refuses random operations. "
                "Call model.eval() first, or use per_sample_gradients_loop."
            )
    trainable = {name: p.detach() for name, p in _trainable(model).items()}
    # Frozen parameters and buffers go in as constants: used, not differentiated.
    constants = {name: p.detach() for name, p in model.named_parameters() if not p.requires_grad}
    constants.update(dict(model.named_buffers()))

    def sample_loss(
        params: dict[str, torch.Tensor], sample: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        output = functional_call(model, (params, constants), (sample.unsqueeze(0),))
        loss = loss_fn(output, target.unsqueeze(0))
        _require_scalar_loss(loss)
        return loss

    return vmap(grad(sample_loss), in_dims=(None, 0, 0))(trainable, inputs, targets)


def per_sample_gradients_loop(
    model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The gradient of each sample's loss for every trainable parameter, one backward each.

    The straightforward reference for :func:`per_sample_gradients`: for each sample, a forward pass
    on a batch of one and :func:`torch.autograd.grad`. It gives the same numbers (up to rounding)
    and works with any model, but it runs ``batch`` forward and backward passes from Python, so it
    is slower. ``.grad`` is left untouched; a parameter the loss does not use gets zeros.

    >>> model = nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[1.0, -1.0]]))
    >>> inputs = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> targets = torch.zeros(2, 1, dtype=torch.float64)
    >>> grads = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    >>> grads["weight"].shape, grads["weight"].tolist()  # 2 * (w . x) * x per sample
    (torch.Size([2, 1, 2]), [[[2.0, 0.0]], [[0.0, -8.0]]])
    """
    _validate_batch(model, inputs, targets)
    trainable = _trainable(model)
    names, params = list(trainable), list(trainable.values())
    per_sample: list[list[torch.Tensor]] = [[] for _ in names]
    for index in range(inputs.shape[0]):
        loss = loss_fn(model(inputs[index : index + 1]), targets[index : index + 1])
        _require_scalar_loss(loss)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for collected, param, g in zip(per_sample, params, grads, strict=True):
            collected.append(torch.zeros_like(param) if g is None else g.detach())
    return {name: torch.stack(collected) for name, collected in zip(names, per_sample, strict=True)}
