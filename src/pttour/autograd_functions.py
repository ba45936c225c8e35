"""Custom autograd functions: a hand-written backward, and how to prove it right.

A :class:`torch.autograd.Function` lets you write a forward pass and its
backward pass by hand, for speed, numerical stability, or an operation autograd
cannot see through. Autograd then trusts your backward completely: if it is
wrong, training silently follows a wrong gradient. Three habits make a custom
function safe:

1. Save what the backward needs with ``ctx.save_for_backward`` (it guards
   against the saved tensors being modified in place) and keep the forward free
   of ``ctx`` by putting the saving into ``setup_context``; that style is what
   :mod:`torch.func` transforms (``grad``, ``vmap``, ``jacrev``, ``jacfwd``)
   need.
2. Write the backward with differentiable torch operations on the saved
   tensors, never with NumPy, ``.item()`` or ``.detach()``, so that autograd can
   differentiate the backward itself (double backward, used by Hessians and
   gradient penalties).
3. Verify both orders numerically with :func:`torch.autograd.gradcheck` and
   :func:`torch.autograd.gradgradcheck`; :func:`verify_gradients` runs both and
   says what failed.

:class:`SoftplusFunction` follows all three; :class:`WrongBackwardSoftplus` is
the same function with a deliberate one-line bug in its backward, kept as a
teaching example of what the checks catch.

>>> import torch
>>> x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
>>> verify_gradients(softplus, x).passed
True
>>> verify_gradients(WrongBackwardSoftplus.apply, x).first_order_ok
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd.gradcheck import GradcheckError

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

    PyTorch already ships :func:`torch.nn.functional.softplus`; this class is
    the smallest complete example of a custom function written the way
    :mod:`torch.func` and double backward expect. The forward is computed as
    ``max(x, 0) + log1p(exp(-|x|))``, which never overflows. The derivative of
    softplus is ``sigmoid(x)``, so ``backward`` returns
    ``grad_output * sigmoid(x)``: the chain rule's factor ``grad_output`` times
    the local derivative, built from differentiable torch operations so that
    its own derivative, ``sigmoid(x) * (1 - sigmoid(x))``, comes out of
    autograd for free. ``jvp`` gives forward-mode AD (used by
    :func:`torch.func.jacfwd`), and ``generate_vmap_rule = True`` lets
    :func:`torch.func.vmap` batch it.

    >>> import torch
    >>> x = torch.tensor([-1.0, 0.0, 1000.0], dtype=torch.float64, requires_grad=True)
    >>> y = SoftplusFunction.apply(x)
    >>> [round(v, 4) for v in y.tolist()]
    [0.3133, 0.6931, 1000.0]
    >>> (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    >>> [round(v, 4) for v in grad.tolist()]  # sigmoid(x)
    [0.2689, 0.5, 1.0]
    >>> (second,) = torch.autograd.grad(grad.sum(), x)
    >>> [round(v, 4) for v in second.tolist()]  # sigmoid(x) * (1 - sigmoid(x))
    [0.1966, 0.25, 0.0]

    Parameters
    ----------
    x : torch.Tensor
        The argument of ``SoftplusFunction.apply(x)``, a floating-point tensor.

    Raises
    ------
    None
        ``apply`` does no validation of its own; :func:`softplus` does.
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

    Kept as a teaching example; never use it for training. The forward is
    :class:`SoftplusFunction`'s; the backward returns ``sigmoid(x)`` instead of
    ``grad_output * sigmoid(x)``. The bug hides from the usual smoke test: for
    ``y.sum().backward()`` autograd passes ``grad_output`` as all ones, so the
    gradient comes out right. Any other loss, such as a weighted sum, gets a
    wrong gradient. :func:`torch.autograd.gradcheck` (and so
    :func:`verify_gradients`) catches it because it builds the whole Jacobian,
    feeding one unit vector at a time as ``grad_output``.

    >>> import torch
    >>> x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> weights = torch.tensor([2.0, 3.0], dtype=torch.float64)
    >>> (looks_fine,) = torch.autograd.grad(WrongBackwardSoftplus.apply(x).sum(), x)
    >>> (right,) = torch.autograd.grad(softplus(x).sum(), x)
    >>> torch.equal(looks_fine, right)
    True
    >>> (wrong,) = torch.autograd.grad((weights * WrongBackwardSoftplus.apply(x)).sum(), x)
    >>> (right,) = torch.autograd.grad((weights * softplus(x)).sum(), x)
    >>> [round(v, 4) for v in wrong.tolist()], [round(v, 4) for v in right.tolist()]
    ([0.5, 0.7311], [1.0, 2.1932])
    >>> verify_gradients(WrongBackwardSoftplus.apply, x).first_order_ok
    False

    Parameters
    ----------
    x : torch.Tensor
        The argument of ``WrongBackwardSoftplus.apply(x)``.

    Raises
    ------
    None
        It raises nothing; it silently returns a wrong gradient, which is the point.
    """

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        # BUG (on purpose): the chain rule needs grad_output * sigmoid(x).
        return torch.sigmoid(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """Softplus, ``log(1 + exp(x))``, through the hand-written :class:`SoftplusFunction`.

    A custom Function is called through ``.apply``; a plain function around it
    gives it a normal signature and a place to validate the argument, which
    ``apply`` does not do. The result equals
    :func:`torch.nn.functional.softplus` (whose default ``threshold=20``
    returns ``x`` itself above 20, a difference below ``exp(-20)``, about 2e-9).

    >>> import torch
    >>> x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    >>> torch.allclose(softplus(x), torch.nn.functional.softplus(x))
    True
    >>> softplus(torch.tensor([1, 2]))
    Traceback (most recent call last):
        ...
    TypeError: softplus needs a floating-point tensor, got dtype torch.int64; ...

    Parameters
    ----------
    x : torch.Tensor
        A floating-point tensor of any shape, on any device.

    Returns
    -------
    torch.Tensor
        ``log(1 + exp(x))`` elementwise, same shape, dtype and device as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a tensor or not floating-point.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"softplus needs a tensor, got {type(x).__name__}; wrap it with torch.tensor(...)."
        )
    if not x.is_floating_point():
        raise TypeError(
            f"softplus needs a floating-point tensor, got dtype {x.dtype}; convert it with "
            ".double() (or .float())."
        )
    return SoftplusFunction.apply(x)


@dataclass(frozen=True)
class GradientVerification:
    """What :func:`verify_gradients` found: first and second order, and why.

    :func:`torch.autograd.gradcheck` only answers ``True`` or raises; this
    record keeps both verdicts together with the explanation, so a tutorial
    can print it and a test can assert on it.

    >>> result = GradientVerification(True, None, "gradcheck passed")
    >>> result.passed, result.second_order_ok
    (True, None)

    Parameters
    ----------
    first_order_ok : bool
        Whether the backward matches finite differences of the forward
        (:func:`torch.autograd.gradcheck`).
    second_order_ok : bool or None
        Whether double backward matches finite differences of the backward
        (:func:`torch.autograd.gradgradcheck`); ``None`` when it was not run,
        either because it was not asked for or because the first order failed.
    message : str
        What was checked and, for a failure, the mismatch torch reported.

    Raises
    ------
    dataclasses.FrozenInstanceError
        On any attempt to change a field.
    """

    first_order_ok: bool
    second_order_ok: bool | None
    message: str

    @property
    def passed(self) -> bool:
        """True when the first order passed and the second did not fail."""
        return self.first_order_ok and self.second_order_ok is not False


def _run_check(
    check: Callable[..., bool], fn: Callable[..., Any], inputs: tuple[Any, ...], **kwargs: float
) -> tuple[bool, str]:
    """Run a torch gradient check; return ``(ok, torch's message or "")``."""
    try:
        # raise_exception=True is what makes torch explain the mismatch.
        check(fn, inputs, raise_exception=True, **kwargs)
    except GradcheckError as error:
        return False, str(error).strip()
    return True, ""


def verify_gradients(
    fn: Callable[..., Any],
    *inputs: Any,
    check_second_order: bool = True,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> GradientVerification:
    """Check ``fn``'s first (and second) derivatives against finite differences.

    Runs :func:`torch.autograd.gradcheck`, which compares the Jacobian that
    ``fn``'s backward produces with a numerical one, and then
    :func:`torch.autograd.gradgradcheck`, which does the same for the
    derivative of the backward (double backward). The second check is skipped
    when the first fails: differentiating a wrong backward correctly proves
    nothing. Unlike :func:`pttour.check_function_gradients`, which reduces the
    output to one number by a random projection and reports error sizes, this
    builds the full Jacobian and reports torch's own message, which shows the
    numerical and analytical Jacobians side by side.

    >>> import torch
    >>> x = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    >>> result = verify_gradients(softplus, x)
    >>> result.first_order_ok, result.second_order_ok
    (True, True)
    >>> bad = verify_gradients(WrongBackwardSoftplus.apply, x)
    >>> bad.first_order_ok, bad.second_order_ok
    (False, None)
    >>> print(bad.message)
    gradcheck failed: Jacobian mismatch for output 0 with respect to input 0,
    numerical:...
    analytical:...
    >>> verify_gradients(softplus, x.detach().float().requires_grad_())
    Traceback (most recent call last):
        ...
    TypeError: input 0 has dtype torch.float32, but gradient checks need float64: ...

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returns a tensor or a tuple of tensors.
    *inputs
        The arguments. Tensors with ``requires_grad=True`` are differentiated
        and must be float64; other arguments are passed through unchanged.
    check_second_order : bool, default True
        Also run :func:`torch.autograd.gradgradcheck`.
    eps : float, default 1e-6
        Finite-difference step.
    atol, rtol : float, default 1e-6 and 1e-4
        Tolerances of the Jacobian comparison, as in :func:`torch.allclose`.

    Returns
    -------
    GradientVerification
        The verdicts and an explanation.

    Raises
    ------
    TypeError
        If an input that requires grad is not float64 (the message names it,
        e.g. ``input 0``, and says to call ``.double()``).
    ValueError
        If no input requires grad, or ``eps``/``atol``/``rtol`` are out of range.
    """
    _validate_settings(eps, atol, rtol)
    differentiable = 0
    for position, arg in enumerate(inputs):
        if isinstance(arg, torch.Tensor) and arg.requires_grad:
            _require_float64(arg, f"input {position}")
            differentiable += 1
    if not differentiable:
        raise ValueError(
            "no input requires grad, so there is nothing to verify; create the inputs to "
            "differentiate as float64 with requires_grad=True, e.g. "
            "torch.tensor([...], dtype=torch.float64, requires_grad=True)."
        )
    settings = {"eps": eps, "atol": atol, "rtol": rtol}
    first_ok, first_error = _run_check(torch.autograd.gradcheck, fn, inputs, **settings)
    if not first_ok:
        second_note = "gradgradcheck skipped: the first derivatives are already wrong."
        return GradientVerification(False, None, f"gradcheck failed: {first_error}\n{second_note}")
    first_note = "gradcheck passed: the backward matches finite differences of the forward."
    if not check_second_order:
        return GradientVerification(
            True, None, f"{first_note}\ngradgradcheck not run (check_second_order=False)."
        )
    second_ok, second_error = _run_check(torch.autograd.gradgradcheck, fn, inputs, **settings)
    if second_ok:
        second_note = "gradgradcheck passed: double backward matches finite differences."
    else:
        second_note = (
            f"gradgradcheck failed: {second_error}\nThe backward is probably not "
            "differentiable: write it with torch operations on the saved tensors (no "
            ".detach(), NumPy or once_differentiable)."
        )
    return GradientVerification(True, second_ok, f"{first_note}\n{second_note}")
