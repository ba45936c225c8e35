"""torch.func: gradients as functions, batched with vmap, per-sample gradients.

``vmap(grad(loss_of_one_sample))`` gives the gradient of every sample of a batch separately, in one
batched pass, which ``loss.backward()`` cannot: it stores only the sum (or mean) over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from pttour import _checks

__all__ = ["per_sample_gradients"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _validate_batch(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise unless inputs and targets form one batch a model can split."""
    _checks.module("model", model)
    for name, tensor in (("inputs", inputs), ("targets", targets)):
        if _checks.tensor(name, tensor).dim() == 0:
            raise ValueError(
                f"{name} is a 0-dimensional tensor; per-sample gradients need a batch "
                "dimension first, e.g. tensor.unsqueeze(0) for one sample."
            )
    _checks.same_batch(inputs, targets)
    if inputs.shape[0] == 0:
        raise ValueError("the batch is empty (batch size 0); pass at least one sample.")
    for name, module in model.named_modules():
        # Batch norm in training mode mixes the samples of a batch, so no sample
        # has a gradient of its own; vmap refuses the random numbers of dropout.
        if module.training and (
            isinstance(module, nn.modules.batchnorm._BatchNorm)
            or (isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0)
        ):
            raise ValueError(
                f"module {name or type(module).__name__!r} is {type(module).__name__} in "
                "training mode, which has no per-sample gradients here (batch norm mixes the "
                "samples, vmap refuses dropout's random numbers); call model.eval() first, or "
                "use a per-sample normalisation such as nn.GroupNorm."
            )
    parameter = next(model.parameters(), None)
    if parameter is not None and inputs.device != parameter.device:
        raise ValueError(
            f"inputs are on {inputs.device} but the model's parameters are on "
            f"{parameter.device}; move them with inputs.to({str(parameter.device)!r})."
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
    >>> nn.MSELoss()(model(inputs[2:3]), targets[2:3]).backward()  # sample 2 alone
    >>> torch.allclose(grads["0.weight"][2], model[0].weight.grad)
    True
    >>> per_sample_gradients(model, nn.MSELoss(), inputs, targets[:4])
    Traceback (most recent call last):
        ...
    ValueError: targets has batch size 4 (shape (4, 1)) but inputs has 5 (shape (5, 3)); ...

    For each trainable parameter, by name, a tensor of shape ``(batch, *parameter.shape)``.
    """
    _checks.function("loss_fn", loss_fn)
    _validate_batch(model, inputs, targets)
    trainable = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not trainable:
        raise ValueError(
            "the model has no parameter that requires grad, so there is no gradient to "
            "compute; unfreeze one with parameter.requires_grad_(True)."
        )
    # Frozen parameters and buffers go in as constants: used, not differentiated.
    constants = {name: p.detach() for name, p in model.named_parameters() if not p.requires_grad}
    constants.update(dict(model.named_buffers()))

    def sample_loss(
        params: dict[str, torch.Tensor], sample: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        output = functional_call(model, (params, constants), (sample.unsqueeze(0),))
        loss = loss_fn(output, target.unsqueeze(0))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise ValueError(
                f"loss_fn returned {shape} for a batch of one sample; it must return a single "
                "value (a 0-dimensional tensor), e.g. a loss with reduction='mean' or 'sum'."
            )
        return loss

    return vmap(grad(sample_loss), in_dims=(None, 0, 0))(trainable, inputs, targets)
