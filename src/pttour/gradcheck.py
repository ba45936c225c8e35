"""§4.3 Gradient checking: autograd's gradients against finite differences.

A gradient check answers one question: does the gradient autograd computes for
each *parameter* equal the slope of the loss measured numerically? For every
element ``p`` of a parameter the central difference::

    (loss(p + eps) - loss(p - eps)) / (2 * eps)

approximates d(loss)/d(p) with an error of order ``eps**2`` plus the rounding
error of the two loss values divided by ``eps``. That rounding term is why the
check needs float64: in float32 (about 7 significant digits) the two loss values
agree in almost every digit, so for a small ``eps`` their difference is mostly
noise and no ``eps`` gives more than three or four correct digits, too few to
tell a subtle bug from rounding. In float64 an ``eps`` between 1e-7 and 1e-5 is
fine.

The check passes for a tensor when::

    max|autograd - numerical| <= atol + rtol * max|numerical|

which is the per-tensor form of the ``atol + rtol * |expected|`` rule of
:func:`torch.allclose`.

:func:`check_model_gradients` checks every parameter of a model (and
optionally its input) and returns a :class:`GradcheckReport` with one row per
tensor; :func:`check_function_gradients` does the same for a plain function of
tensors, such as a custom :class:`torch.autograd.Function`.

PyTorch's own tools, :func:`torch.autograd.gradcheck` and
:func:`torch.autograd.gradgradcheck`, check a function's gradients with respect
to its tensor inputs (first and second derivatives). They report no maximum or
mean difference: they return ``True``, or raise
``torch.autograd.gradcheck.GradcheckError`` (a ``RuntimeError``; import it with
``from torch.autograd.gradcheck import GradcheckError``) whose message shows the
numerical and analytical Jacobians. To check a model's parameters with them,
pass the parameters as inputs through :func:`torch.func.functional_call`.

>>> import torch
>>> x = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
>>> torch.autograd.gradcheck(torch.sin, (x,))
True
>>> torch.autograd.gradgradcheck(torch.sin, (x,))
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "GradcheckReport",
    "GradientComparison",
    "check_function_gradients",
    "check_model_gradients",
    "numerical_gradient",
]

# Seed of the fixed projection that turns a non-scalar output into a scalar.
_PROJECTION_SEED = 0


def _require_float64(tensor: torch.Tensor, what: str) -> None:
    """Raise ``TypeError`` unless ``tensor`` is float64, explaining why it must be."""
    if tensor.dtype == torch.float64:
        return
    if tensor.is_floating_point():
        reason = (
            f"with {tensor.dtype}'s few significant digits (about 7 for float32, fewer for "
            "float16 and bfloat16) the difference quotient is dominated by rounding error"
        )
    else:
        reason = "finite differences need a floating-point tensor to perturb"
    raise TypeError(
        f"{what} has dtype {tensor.dtype}, but gradient checks need float64: {reason}. "
        "Convert it with .double() (a model with model.double())."
    )


def _validate_settings(eps: float, atol: float = 0.0, rtol: float = 0.0) -> None:
    """Raise ``ValueError`` for a non-positive step or a negative tolerance (NaN included)."""
    if not eps > 0:
        raise ValueError(f"eps={eps} must be positive; 1e-6 suits float64.")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not value >= 0:
            raise ValueError(f"{name}={value} must be zero or positive.")


def _scalar_value(result: object) -> float:
    """The float value of ``fn()``'s result, which must be a tensor holding one number."""
    if not isinstance(result, torch.Tensor):
        raise TypeError(
            f"fn() returned {type(result).__name__}, not a tensor; return the loss tensor itself."
        )
    if result.numel() != 1:
        raise ValueError(
            f"fn() returned a tensor of shape {tuple(result.shape)}; a gradient needs a "
            "single value, e.g. a loss with reduction='mean' or output.sum()."
        )
    return result.detach().to(torch.float64).item()


def numerical_gradient(
    fn: Callable[[], torch.Tensor], tensor: torch.Tensor, *, eps: float = 1e-6
) -> torch.Tensor:
    """Estimate d fn() / d tensor by central differences, one element at a time.

    Each element of ``tensor`` is set to ``x + eps`` and ``x - eps`` in place
    (under :func:`torch.no_grad`, so autograd records nothing) and
    ``(f(x + eps) - f(x - eps)) / (2 * eps)`` is its partial derivative. The
    original value is written back after each element, also when ``fn`` raises,
    so the tensor ends bit-for-bit as it started. Because ``fn`` takes no
    arguments it can read the tensor through a model, a closure or a global.
    Only float64 is accepted (see the module notes on rounding error).

    >>> import torch
    >>> x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> grad = numerical_gradient(lambda: (x**2).sum(), x)
    >>> [round(g, 6) for g in grad.tolist()], grad.dtype
    ([2.0, 4.0, 6.0], torch.float64)
    >>> numerical_gradient(lambda: x.sum(), x.float())
    Traceback (most recent call last):
        ...
    TypeError: tensor has dtype torch.float32, but gradient checks need float64: ...

    Parameters
    ----------
    fn : callable
        Takes no arguments and returns a tensor holding a single value.
    tensor : torch.Tensor
        The float64 tensor to differentiate with respect to; perturbed in place
        and restored.
    eps : float, default 1e-6
        The step; positive.

    Returns
    -------
    torch.Tensor
        The gradient, float64, with the shape and device of ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not float64, or ``fn()`` does not return a tensor.
    ValueError
        If ``fn()`` returns more than one value (the message gives its shape) or
        ``eps`` is not positive.
    """
    _require_float64(tensor, "tensor")
    _validate_settings(eps)
    grad = torch.zeros(tensor.shape, dtype=torch.float64)
    with torch.no_grad():
        for index in itertools.product(*(range(size) for size in tensor.shape)):
            # A Python float holds a float64 exactly, so writing it back restores every bit.
            original = tensor[index].item()
            try:
                tensor[index] = original + eps
                plus = _scalar_value(fn())
                tensor[index] = original - eps
                minus = _scalar_value(fn())
            finally:
                tensor[index] = original
            grad[index] = (plus - minus) / (2 * eps)
    return grad.to(tensor.device)


@dataclass(frozen=True)
class GradientComparison:
    """How autograd's gradient of one tensor compares with the numerical one.

    ``relative_error`` is ``max_abs_diff`` divided by the largest magnitude in
    either gradient (0 when both are zero); ``passed`` applies the rule
    ``max_abs_diff <= atol + rtol * max|numerical|``.

    >>> row = GradientComparison("fc.weight", (1, 2), 2e-10, 1e-10, 1e-11, True)
    >>> row.name, row.shape, row.passed
    ('fc.weight', (1, 2), True)

    Parameters
    ----------
    name : str
        The parameter name from ``named_parameters()``, ``"inputs"`` or ``"input N"``.
    shape : tuple of int
        The tensor's shape.
    max_abs_diff, mean_abs_diff : float
        Largest and mean ``|autograd - numerical|`` over the tensor's elements.
    relative_error : float
        ``max_abs_diff / max(max|autograd|, max|numerical|)``.
    passed : bool
        Whether the tensor passed the check.

    Raises
    ------
    dataclasses.FrozenInstanceError
        On any attempt to change a field.
    """

    name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    mean_abs_diff: float
    relative_error: float
    passed: bool


@dataclass
class GradcheckReport:
    """The result of a gradient check: one :class:`GradientComparison` per tensor.

    ``str(report)`` renders an aligned table, so a failing check shows at a
    glance which tensor is wrong and by how much.

    >>> rows = [
    ...     GradientComparison("0.weight", (3, 2), 0.5, 0.25, 0.5, False),
    ...     GradientComparison("0.bias", (3,), 1e-11, 4e-12, 2e-11, True),
    ... ]
    >>> report = GradcheckReport(rows, eps=1e-6, atol=1e-6, rtol=1e-4)
    >>> report.passed, report.failures
    (False, ['0.weight'])
    >>> print(report)
    gradient check (eps=1e-06, atol=1e-06, rtol=0.0001): FAILED for 0.weight
    name      shape   max abs diff  mean abs diff   rel err  result
    0.weight  (3, 2)      5.00e-01       2.50e-01  5.00e-01  FAIL
    0.bias    (3,)        1.00e-11       4.00e-12  2.00e-11  ok

    Parameters
    ----------
    comparisons : list of GradientComparison
        One row per checked tensor, in the order checked.
    eps, atol, rtol : float
        The step and tolerances the check used.

    Raises
    ------
    None
        Building a report does not validate its rows.
    """

    comparisons: list[GradientComparison]
    eps: float
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        """True when at least one tensor was checked and every one passed."""
        return bool(self.comparisons) and all(row.passed for row in self.comparisons)

    @property
    def failures(self) -> list[str]:
        """Names of the tensors that failed, in the order checked."""
        return [row.name for row in self.comparisons if not row.passed]

    def __str__(self) -> str:
        if not self.comparisons:
            verdict = "nothing checked"
        elif self.passed:
            verdict = "passed"
        else:
            verdict = "FAILED for " + ", ".join(self.failures)
        header = ("name", "shape", "max abs diff", "mean abs diff", "rel err", "result")
        rows = [
            (
                row.name,
                str(row.shape),
                f"{row.max_abs_diff:.2e}",
                f"{row.mean_abs_diff:.2e}",
                f"{row.relative_error:.2e}",
                "ok" if row.passed else "FAIL",
            )
            for row in self.comparisons
        ]
        widths = [max(len(line[i]) for line in (header, *rows)) for i in range(len(header))]
        # Text columns align left, numbers right, so exponents line up.
        align = ["<", "<", ">", ">", ">", "<"]
        lines = [f"gradient check (eps={self.eps}, atol={self.atol}, rtol={self.rtol}): {verdict}"]
        for line in (header, *rows):
            cells = [f"{cell:{a}{w}}" for cell, a, w in zip(line, align, widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


def _compare(
    name: str, autograd: torch.Tensor, numerical: torch.Tensor, atol: float, rtol: float
) -> GradientComparison:
    """One report row for a tensor, from its autograd and numerical gradients."""
    autograd = autograd.detach().to(torch.float64)
    numerical = numerical.to(autograd.device)
    shape = tuple(numerical.shape)
    if numerical.numel() == 0:
        return GradientComparison(name, shape, 0.0, 0.0, 0.0, True)
    diff = (autograd - numerical).abs()
    max_diff, mean_diff = diff.max().item(), diff.mean().item()
    max_numerical = numerical.abs().max().item()
    scale = max(autograd.abs().max().item(), max_numerical)
    relative = max_diff / scale if scale > 0 else 0.0
    passed = max_diff <= atol + rtol * max_numerical
    return GradientComparison(name, shape, max_diff, mean_diff, relative, passed)


def _check_tensors(
    fn: Callable[[], torch.Tensor],
    named: list[tuple[str, torch.Tensor]],
    *,
    eps: float,
    atol: float,
    rtol: float,
) -> GradcheckReport:
    """Compare autograd with central differences for each named tensor of ``fn()``."""
    value = fn()
    _scalar_value(value)  # validates the shape before autograd sees it
    # autograd.grad returns the gradients without writing any tensor's .grad.
    grads = torch.autograd.grad(value, [t for _, t in named], allow_unused=True)
    with torch.no_grad():
        second = _scalar_value(fn())
    # A tiny tolerance absorbs bit-level differences of GPU kernels; dropout changes far more.
    if not math.isclose(second, value.item(), rel_tol=1e-12, abs_tol=1e-15):
        raise ValueError(
            f"the loss changed between two identical evaluations ({value.item()!r} then "
            f"{second!r}); finite differences need a deterministic function. Disable dropout "
            "and other randomness, e.g. with model.eval()."
        )
    comparisons = []
    for (name, tensor), grad in zip(named, grads, strict=True):
        # An unused tensor has a zero gradient; autograd reports it as None.
        autograd = torch.zeros_like(tensor) if grad is None else grad
        numerical = numerical_gradient(fn, tensor, eps=eps)
        comparisons.append(_compare(name, autograd, numerical, atol, rtol))
    return GradcheckReport(comparisons, eps=eps, atol=atol, rtol=rtol)


def check_model_gradients(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    include_inputs: bool = False,
) -> GradcheckReport:
    """Check autograd's gradient of ``loss_fn(model(inputs), targets)`` for every parameter.

    Training updates parameters, so those are the gradients that must be right:
    each parameter that requires grad, named as in ``model.named_parameters()``,
    is compared with :func:`numerical_gradient` of the same loss. With
    ``include_inputs=True`` the gradient with respect to ``inputs`` is checked
    too (row ``"inputs"``). The model comes back as it went in: parameters
    bit-for-bit, ``.grad`` untouched (autograd's gradients are taken with
    :func:`torch.autograd.grad`), buffers such as BatchNorm's running
    statistics restored. Keep the model small: each parameter element costs two
    forward passes.

    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    >>> inputs = torch.linspace(-1, 1, 8, dtype=torch.float64).view(4, 2)
    >>> targets = torch.ones(4, 1, dtype=torch.float64)
    >>> report = check_model_gradients(model, nn.MSELoss(), inputs, targets)
    >>> report.passed, [row.name for row in report.comparisons]
    (True, ['0.weight', '0.bias', '2.weight', '2.bias'])
    >>> check_model_gradients(model.float(), nn.MSELoss(), inputs.float(), targets.float())
    Traceback (most recent call last):
        ...
    TypeError: parameter '0.weight' has dtype torch.float32, but gradient checks need float64: ...

    Parameters
    ----------
    model : torch.nn.Module
        A float64 model whose forward pass is deterministic (no active dropout).
    loss_fn : callable
        ``loss_fn(model(inputs), targets)`` returns a single value.
    inputs, targets : torch.Tensor
        One batch on the model's device; floating inputs must be float64.
    eps : float, default 1e-6
        Central-difference step.
    atol, rtol : float, default 1e-6 and 1e-4
        A tensor passes when ``max|autograd - numerical| <= atol + rtol * max|numerical|``.
    include_inputs : bool, default False
        Also check the gradient with respect to ``inputs``.

    Raises
    ------
    TypeError
        If a parameter that requires grad, or floating ``inputs``, are not float64;
        the message names the offending tensor.
    ValueError
        If there is nothing to check, the loss is not a single value, two
        identical evaluations of the loss differ, or ``eps``/``atol``/``rtol`` are
        out of range.
    """
    _validate_settings(eps, atol, rtol)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    for name, parameter in named:
        _require_float64(parameter, f"parameter {name!r}")
    if include_inputs or inputs.is_floating_point():
        _require_float64(inputs, "inputs")
    # Work on a private copy of the inputs so the caller's tensor is never perturbed.
    inputs = inputs.detach().clone().requires_grad_(include_inputs)
    if include_inputs:
        named.append(("inputs", inputs))
    if not named:
        raise ValueError(
            "the model has no parameter that requires grad; pass include_inputs=True "
            "or unfreeze a parameter with requires_grad_(True)."
        )
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        return _check_tensors(
            lambda: loss_fn(model(inputs), targets), named, eps=eps, atol=atol, rtol=rtol
        )
    finally:
        # Train-mode BatchNorm updates its running statistics on every forward pass.
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def _project_to_scalar(output: torch.Tensor) -> torch.Tensor:
    """Reduce ``output`` to one value by a fixed random projection, ``(output * w).sum()``."""
    if output.numel() == 1:
        return output.reshape(())
    generator = torch.Generator().manual_seed(_PROJECTION_SEED)
    weights = torch.randn(output.shape, generator=generator, dtype=torch.float64)
    return (output * weights.to(device=output.device, dtype=output.dtype)).sum()


def check_function_gradients(
    fn: Callable[..., torch.Tensor],
    *inputs: object,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> GradcheckReport:
    """Check autograd's gradient of ``fn(*inputs)`` for each input that requires grad.

    This is the tool for a hand-written :class:`torch.autograd.Function` or any
    function of tensors. A non-scalar output is reduced to one number by a fixed
    random projection, ``(output * w).sum()`` with ``w`` drawn from a private
    generator seeded with 0. A plain ``output.sum()`` would miss errors whose
    entries cancel out (softmax's outputs, for example, always sum to 1, so the
    gradient of their sum is zero however wrong the backward is). Inputs that
    require grad are checked on float64 copies and named ``"input 0"``,
    ``"input 1"`` ... by position; other arguments are passed through unchanged.

    >>> import torch
    >>> x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> report = check_function_gradients(torch.mul, x, y)
    >>> report.passed, [row.name for row in report.comparisons]
    (True, ['input 0'])

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returns a floating-point tensor.
    *inputs
        The arguments; tensors with ``requires_grad=True`` must be float64 and are checked.
    eps : float, default 1e-6
        Central-difference step.
    atol, rtol : float, default 1e-6 and 1e-4
        A tensor passes when ``max|autograd - numerical| <= atol + rtol * max|numerical|``.

    Raises
    ------
    TypeError
        If an input that requires grad is not float64, or ``fn`` does not return a
        floating-point tensor.
    ValueError
        If no input requires grad, two identical evaluations differ, or
        ``eps``/``atol``/``rtol`` are out of range.
    """
    _validate_settings(eps, atol, rtol)
    args = list(inputs)
    named = []
    for position, arg in enumerate(args):
        if isinstance(arg, torch.Tensor) and arg.requires_grad:
            _require_float64(arg, f"input {position}")
            args[position] = arg.detach().clone().requires_grad_(True)
            named.append((f"input {position}", args[position]))
    if not named:
        raise ValueError(
            "no input requires grad, so there is nothing to check; create the inputs "
            "to differentiate with requires_grad=True."
        )

    def scalar() -> torch.Tensor:
        output = fn(*args)
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            raise TypeError(
                f"fn returned {type(output).__name__} "
                f"{getattr(output, 'dtype', '')}; it must return a floating-point tensor."
            )
        return _project_to_scalar(output)

    return _check_tensors(scalar, named, eps=eps, atol=atol, rtol=rtol)
