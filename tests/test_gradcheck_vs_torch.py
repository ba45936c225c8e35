"""pttour's gradient checker and ``torch.autograd.gradcheck``, side by side on the same cases.

Correct functions must pass both; wrong backwards must fail pttour. The rule under test:
pttour never passes what torch fails, so it is at least as strict as torch on every case.
The wrong backwards cover what a per-tensor tolerance hid: gradients whose entries differ by
orders of magnitude, one wrong element among many, a wrong sign, scale, transpose or missing
term, and backwards that ignore ``grad_output`` or are not deterministic. Models are checked
against torch through :func:`torch.func.functional_call`, their parameters as inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
import torch
from torch import nn
from torch.func import functional_call

from pttour import (
    SoftplusFunction,
    WrongBackwardSoftplus,
    check_function_gradients,
    check_model_gradients,
)

F64 = torch.float64


def _custom(forward: Callable, backward: Callable) -> Callable:
    """A custom autograd Function: ``forward(*xs)``; ``backward(grad_output, *xs)``."""

    def fwd(ctx, *xs):
        ctx.save_for_backward(*xs)
        return forward(*xs)

    def bwd(ctx, grad_output):
        return backward(grad_output, *ctx.saved_tensors)

    attributes = {"forward": staticmethod(fwd), "backward": staticmethod(bwd)}
    return type("Custom", (torch.autograd.Function,), attributes).apply


def _points(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64, requires_grad=True)


def _grid(*shape: int, low: float = -1.0, high: float = 1.0, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    values = low + (high - low) * torch.rand(*shape, generator=generator, dtype=F64)
    return values.requires_grad_()


def _flip(index: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def flip(grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad.view(-1)[index] = -grad.view(-1)[index]
        return grad

    return flip


def _scale(index: int, factor: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def scale(grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad.view(-1)[index] *= factor
        return grad

    return scale


W = torch.tensor([[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0], [0.7, -0.2, 1.5]], dtype=F64)


class Case(NamedTuple):
    fn: Callable
    inputs: Callable[[], tuple]
    correct: bool


CASES = {
    # -- correct functions: both checkers must pass them
    "sin": Case(torch.sin, lambda: (_grid(5),), True),
    "exp from e-6 to e6": Case(torch.exp, lambda: (_points(-6, 0, 6),), True),
    "exp from e-12 to e12": Case(torch.exp, lambda: (_points(-12, 0, 12),), True),
    "matmul": Case(torch.matmul, lambda: (_grid(2, 3), _grid(3, 4, seed=1)), True),
    "softmax": Case(lambda x: torch.softmax(x, 0), lambda: (_grid(4),), True),
    "log": Case(torch.log, lambda: (_grid(4, low=0.1, high=3),), True),
    "product of two": Case(torch.mul, lambda: (_grid(3), _grid(3, seed=1)), True),
    "cumsum": Case(lambda x: x.cumsum(0), lambda: (_grid(4),), True),
    "sum of squares": Case(lambda x: (x**2).sum(), lambda: (_grid(3, 2),), True),
    "broadcast add": Case(torch.add, lambda: (_grid(2, 3), _grid(3, seed=1)), True),
    "tanh": Case(torch.tanh, lambda: (_grid(5, low=-3, high=3),), True),
    "norm": Case(torch.linalg.vector_norm, lambda: (_grid(4),), True),
    "cube": Case(lambda x: x**3, lambda: (_grid(4, low=-10, high=10),), True),
    "mean": Case(torch.mean, lambda: (_grid(6),), True),
    "constant output": Case(lambda x: torch.ones(2, dtype=F64), lambda: (_grid(3),), True),
    "softplus Function": Case(SoftplusFunction.apply, lambda: (_points(-4, 0, 3),), True),
    "custom square": Case(
        _custom(lambda x: x * x, lambda g, x: 2 * x * g), lambda: (_grid(100),), True
    ),
    "custom exp": Case(
        _custom(torch.exp, lambda g, x: g * torch.exp(x)), lambda: (_points(-6, 0, 6),), True
    ),
    "custom x sin x": Case(
        _custom(lambda x: x * torch.sin(x), lambda g, x: g * (torch.sin(x) + x * torch.cos(x))),
        lambda: (_grid(4, low=-3, high=3),),
        True,
    ),
    "custom x @ W.T": Case(
        _custom(lambda x: x @ W.T, lambda g, x: g @ W), lambda: (_grid(2, 3),), True
    ),
    "custom scalar square": Case(
        _custom(lambda x: x * x, lambda g, x: 2 * x * g), lambda: (_points(0.7),), True
    ),
    # -- wrong backwards: pttour must fail every one
    "exp, sign of the small entry flipped": Case(
        _custom(torch.exp, lambda g, x: _flip(0)(g * torch.exp(x))),
        lambda: (_points(-6, 0, 6),),
        False,
    ),
    "exp e-12 to e12, small entry doubled": Case(
        _custom(torch.exp, lambda g, x: _scale(0, 2.0)(g * torch.exp(x))),
        lambda: (_points(-12, 0, 12),),
        False,
    ),
    "exp, sign of the middle entry flipped": Case(
        _custom(torch.exp, lambda g, x: _flip(1)(g * torch.exp(x))),
        lambda: (_points(-3, 0, 3),),
        False,
    ),
    "square, wrong sign": Case(
        _custom(lambda x: x * x, lambda g, x: -2 * x * g), lambda: (_grid(4),), False
    ),
    "square, wrong scale": Case(
        _custom(lambda x: x * x, lambda g, x: 3 * x * g), lambda: (_grid(4),), False
    ),
    "square, off by 0.05 %": Case(
        _custom(lambda x: 2 * x, lambda g, x: 2.001 * g), lambda: (_grid(4),), False
    ),
    "x sin x, missing term": Case(
        _custom(lambda x: x * torch.sin(x), lambda g, x: g * x * torch.cos(x)),
        lambda: (_grid(4, low=-3, high=3),),
        False,
    ),
    "x @ W.T, W not transposed back": Case(
        _custom(lambda x: x @ W.T, lambda g, x: g @ W.T), lambda: (_grid(2, 3),), False
    ),
    "one wrong element among 100": Case(
        _custom(lambda x: x * x, lambda g, x: _scale(37, 1.01)(2 * x * g)),
        lambda: (_grid(100),),
        False,
    ),
    "ignores grad_output, one output": Case(
        _custom(lambda x: x * x, lambda g, x: 2 * x), lambda: (_points(0.7),), False
    ),
    "ignores grad_output, softplus": Case(
        WrongBackwardSoftplus.apply, lambda: (_points(-4, 0, 3),), False
    ),
    "softmax, zero backward": Case(
        _custom(lambda x: torch.softmax(x, 0), lambda g, x: torch.zeros_like(x)),
        lambda: (_grid(4),),
        False,
    ),
    "second input's gradient missing": Case(
        _custom(torch.mul, lambda g, x, y: (g * y, None)),
        lambda: (_grid(3), _grid(3, seed=1)),
        False,
    ),
    "nondeterministic backward": Case(
        _custom(lambda x: x * x, lambda g, x: 2 * x * g + 1e-13 * torch.randn_like(x)),
        lambda: (_grid(3),),
        False,
    ),
    "detached forward": Case(lambda x: x.detach() * 2, lambda: (_grid(3),), False),
}


def _linear_wrong_column(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    def backward(g, x, weight, bias):
        grad_weight = g.T @ x
        grad_weight[:, 0] = -grad_weight[:, 0]
        return g @ weight, grad_weight, g.sum(0)

    return _custom(lambda x, w, b: x @ w.T + b, backward)(x, weight, bias)


class _WrongColumn(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _linear_wrong_column(x, self.weight, self.bias)


class _Square(nn.Module):
    def __init__(self, backward: Callable) -> None:
        super().__init__()
        self.square = _custom(lambda x: x * x, backward)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.square(x)


def _unnormalised(n: int = 8) -> torch.Tensor:
    return torch.stack([torch.linspace(-1, 1, n), torch.linspace(5e4, 1.5e5, n)], 1).double()


def _mlp(middle: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), middle, nn.Linear(3, 1)).double()


MODEL_CASES = {
    "MLP with tanh": (lambda: _mlp(nn.Tanh()), lambda: _grid(6, 2), True),
    "custom square layer": (
        lambda: _mlp(_Square(lambda g, x: 2 * x * g)),
        lambda: _grid(6, 2),
        True,
    ),
    "linear, unnormalised features": (lambda: nn.Linear(2, 1).double(), _unnormalised, True),
    "square layer, wrong backward": (
        lambda: _mlp(_Square(lambda g, x: 2 * g)),
        lambda: _grid(6, 2),
        False,
    ),
    "linear, wrong-sign column, unnormalised features": (
        lambda: _WrongColumn(2, 1).double(),
        _unnormalised,
        False,
    ),
}


def _verdicts(fn: Callable, inputs: tuple) -> tuple[bool, bool]:
    """(torch passes, pttour passes); an error raised by either counts as a failure."""
    torch_ok = torch.autograd.gradcheck(fn, inputs, raise_exception=False)
    try:
        pttour_ok = check_function_gradients(fn, *inputs).passed
    except (ValueError, TypeError):
        pttour_ok = False
    return torch_ok, pttour_ok


def _model_verdicts(build: Callable, batch: Callable) -> tuple[bool, bool]:
    model, inputs = build(), batch().detach()
    targets = torch.linspace(-1, 1, len(inputs), dtype=F64).view(-1, 1)
    names = [name for name, _ in model.named_parameters()]

    def loss_of(*parameters: torch.Tensor) -> torch.Tensor:
        output = functional_call(model, dict(zip(names, parameters, strict=True)), (inputs,))
        return nn.functional.mse_loss(output, targets)

    copies = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    torch_ok = torch.autograd.gradcheck(loss_of, copies, raise_exception=False)
    return torch_ok, check_model_gradients(model, nn.MSELoss(), inputs, targets).passed


@pytest.mark.parametrize("name", list(CASES))
def test_pttour_never_passes_what_torch_fails(name):
    case = CASES[name]
    torch_ok, pttour_ok = _verdicts(case.fn, case.inputs())
    assert not (pttour_ok and not torch_ok), f"{name}: torch fails it, pttour passes it"
    assert pttour_ok == case.correct, f"{name}: pttour says {pttour_ok}"
    if case.correct:
        assert torch_ok, f"{name}: a correct function that torch fails"


@pytest.mark.parametrize("name", list(MODEL_CASES))
def test_pttour_never_passes_a_model_that_torch_fails(name):
    build, batch, correct = MODEL_CASES[name]
    torch_ok, pttour_ok = _model_verdicts(build, batch)
    assert not (pttour_ok and not torch_ok), f"{name}: torch fails it, pttour passes it"
    assert pttour_ok == correct, f"{name}: pttour says {pttour_ok}"


def test_the_cases_cover_both_verdicts_and_count_what_each_checker_catches():
    verdicts = {name: _verdicts(case.fn, case.inputs()) for name, case in CASES.items()}
    verdicts |= {name: _model_verdicts(b, x) for name, (b, x, _) in MODEL_CASES.items()}
    wrong = [n for n in verdicts if not {**CASES, **MODEL_CASES}[n][2]]
    caught_by_torch = sum(not verdicts[n][0] for n in wrong)
    caught_by_pttour = sum(not verdicts[n][1] for n in wrong)
    print(
        f"{len(verdicts)} cases, {len(wrong)} wrong backwards: "
        f"pttour caught {caught_by_pttour}, torch caught {caught_by_torch}"
    )
    assert len(wrong) >= 13
    assert len(verdicts) - len(wrong) >= 20
    assert caught_by_pttour == len(wrong)
    assert caught_by_pttour >= caught_by_torch
