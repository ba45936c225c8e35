"""Custom autograd functions: a hand-written backward, and how to prove it right.

A :class:`torch.autograd.Function` has a hand-written backward that autograd trusts completely.
Three habits make one safe: save what the backward needs with ``ctx.save_for_backward`` in
``setup_context`` (what :mod:`torch.func` transforms need); write the backward with differentiable
torch operations, so it can be differentiated again; and verify both orders numerically
(:func:`verify_gradients`). :class:`SoftplusFunction` follows all three;
:class:`WrongBackwardSoftplus` has a deliberate one-line bug in its backward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd.gradcheck import GradcheckError

from pttour import _checks
from pttour.gradcheck import _require_float64, _validate_settings

__all__ = [
    "GradientVerification",
    "SoftplusFunction",
    "WrongBackwardSoftplus",
    "softplus",
    "verify_gradients",
]


def _stable_softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    # exp(x) overflows float32 above x = 88; exp(-|x|) never exceeds 1.
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


class SoftplusFunction(torch.autograd.Function):
    """Softplus, ``log(1 + exp(x))``, with a hand-written, twice-differentiable backward.

    >>> x = torch.tensor([-1.0, 0.0, 1000.0], dtype=torch.float64, requires_grad=True)
    >>> (grad,) = torch.autograd.grad(SoftplusFunction.apply(x).sum(), x, create_graph=True)
    >>> (second,) = torch.autograd.grad(grad.sum(), x)  # double backward
    >>> [round(v, 4) for v in grad.tolist()], [round(v, 4) for v in second.tolist()]
    ([0.2689, 0.5, 1.0], [0.1966, 0.25, 0.0])
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return _stable_softplus(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        # Differentiable ops on the saved input: double backward differentiates this line.
        return grad_output * torch.sigmoid(x)

    @staticmethod
    def jvp(ctx: Any, x_tangent: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return x_tangent * torch.sigmoid(x)


class WrongBackwardSoftplus(SoftplusFunction):
    """A deliberately WRONG softplus: its backward forgets the factor ``grad_output``.

    A teaching example: the backward returns ``sigmoid(x)`` instead of ``grad_output *
    sigmoid(x)``. ``y.sum().backward()`` passes ``grad_output`` as ones, so the bug hides there;
    a weighted sum exposes it, and so does gradcheck, which builds the whole Jacobian.

    >>> x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> weights = torch.tensor([2.0, 3.0], dtype=torch.float64)
    >>> def gradient(f, w):
    ...     return [round(v, 4) for v in torch.autograd.grad((w * f(x)).sum(), x)[0].tolist()]
    >>> gradient(WrongBackwardSoftplus.apply, 1) == gradient(softplus, 1)  # y.sum(): hidden
    True
    >>> gradient(WrongBackwardSoftplus.apply, weights), gradient(softplus, weights)
    ([0.5, 0.7311], [1.0, 2.1932])
    """

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        # BUG (on purpose): the chain rule needs grad_output * sigmoid(x).
        return torch.sigmoid(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """Softplus, ``log(1 + exp(x))``, through the hand-written :class:`SoftplusFunction`.

    >>> x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    >>> torch.allclose(softplus(x), torch.nn.functional.softplus(x))
    True
    >>> softplus(torch.tensor([1, 2]))
    Traceback (most recent call last):
        ...
    TypeError: x must be a floating-point tensor, got dtype torch.int64; convert it with ...
    """
    if not _checks.tensor("x", x).is_floating_point():
        raise TypeError(
            f"x must be a floating-point tensor, got dtype {x.dtype}; convert it with "
            ".double() (or .float())."
        )
    return SoftplusFunction.apply(x)


@dataclass(frozen=True)
class GradientVerification:
    """What :func:`verify_gradients` found: first and second order, and why.

    >>> result = GradientVerification(True, None, "gradcheck passed")
    >>> result.passed, result.second_order_ok
    (True, None)
    """

    first_order_ok: bool
    second_order_ok: bool | None
    message: str

    @property
    def passed(self) -> bool:
        """True when the first order passed and the second did not fail."""
        return self.first_order_ok and self.second_order_ok is not False


def verify_gradients(
    fn: Callable[..., Any],
    *inputs: Any,
    check_second_order: bool = True,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> GradientVerification:
    """Check ``fn``'s first (and second) derivatives against finite differences.

    Runs :func:`torch.autograd.gradcheck` and then :func:`torch.autograd.gradgradcheck` (double
    backward), at pttour's tolerances; the second is skipped when the first fails. The message is
    torch's, with both Jacobians; :func:`pttour.check_function_gradients` names the worst element.

    >>> x = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    >>> result = verify_gradients(softplus, x)
    >>> result.first_order_ok, result.second_order_ok
    (True, True)
    >>> bad = verify_gradients(WrongBackwardSoftplus.apply, x)
    >>> bad.first_order_ok, bad.second_order_ok
    (False, None)
    >>> bad.message.startswith("gradcheck failed: ")
    True
    >>> verify_gradients(softplus, x.detach().float().requires_grad_())
    Traceback (most recent call last):
        ...
    TypeError: input 0 has dtype torch.float32, but gradient checks need float64: ...
    """
    _checks.function("fn", fn)
    _checks.boolean("check_second_order", check_second_order)
    _validate_settings(eps, atol, rtol)
    differentiable = [
        _require_float64(arg, f"input {i}")
        for i, arg in enumerate(inputs)
        if isinstance(arg, torch.Tensor) and arg.requires_grad
    ]
    if not differentiable:
        raise ValueError(
            "no input requires grad, so there is nothing to verify; create the inputs to "
            "differentiate as float64 with requires_grad=True, e.g. "
            "torch.tensor([...], dtype=torch.float64, requires_grad=True)."
        )

    def run(check: Callable[..., bool]) -> str:
        """torch's message for a mismatch, or "" (raise_exception makes torch explain it)."""
        try:
            check(fn, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=True)
        except GradcheckError as error:
            return str(error).strip()
        return ""

    first_error = run(torch.autograd.gradcheck)
    if first_error:
        second_note = "gradgradcheck skipped: the first derivatives are already wrong."
        return GradientVerification(False, None, f"gradcheck failed: {first_error}\n{second_note}")
    first_note = "gradcheck passed: the backward matches finite differences of the forward."
    if not check_second_order:
        return GradientVerification(
            True, None, f"{first_note}\ngradgradcheck not run (check_second_order=False)."
        )
    second_error = run(torch.autograd.gradgradcheck)
    second_ok = not second_error
    if second_ok:
        second_note = "gradgradcheck passed: double backward matches finite differences."
    else:
        second_note = (
            f"gradgradcheck failed: {second_error}\nThe backward is probably not "
            "differentiable: write it with torch operations on the saved tensors (no "
            ".detach(), NumPy or once_differentiable)."
        )
    return GradientVerification(True, second_ok, f"{first_note}\n{second_note}")
