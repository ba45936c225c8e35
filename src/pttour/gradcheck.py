"""§4.3 Gradient checking: autograd's gradients against finite differences.

A gradient check answers one question: does the gradient autograd computes for
each *parameter* equal the slope of the loss measured numerically? For every
element ``p`` of a parameter the central difference::

    (loss(p + eps) - loss(p - eps)) / (2 * eps)

approximates d(loss)/d(p) with an error of order ``eps**2`` plus the rounding error of the two loss
values divided by ``eps``, which is why the check needs float64: in float32 no ``eps`` gives more
than three or four correct digits, too few to tell a subtle bug from rounding.

Every element is held to its own tolerance, the rule of :func:`torch.allclose`::

    |autograd - numerical| <= atol + rtol * |numerical|

so a wrong small entry cannot hide behind a large one, and a failure names the worst
element with both values. As in :func:`torch.autograd.gradcheck`, the whole Jacobian is
compared, a backward that ignores ``grad_output`` or is not deterministic fails, and an
output that does not require grad has a zero gradient; the default tolerances are stricter.

>>> import torch
>>> x = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
>>> torch.autograd.gradcheck(torch.sin, (x,))
True
>>> torch.autograd.gradgradcheck(torch.sin, (x,))
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from pttour import _checks

__all__ = [
    "GradcheckReport",
    "GradientComparison",
    "check_function_gradients",
    "check_model_gradients",
    "numerical_gradient",
]


def _require_float64(tensor: torch.Tensor, what: str) -> torch.Tensor:
    """Return ``tensor`` if it is float64, else raise ``TypeError`` explaining why it must be."""
    if tensor.dtype == torch.float64:
        return tensor
    raise TypeError(
        f"{what} has dtype {tensor.dtype}, but gradient checks need float64: finite "
        "differences perturb a floating-point tensor, and with fewer digits (about 7 for "
        "float32) the difference quotient is dominated by rounding error. Convert it with "
        ".double() (a model with model.double())."
    )


def _require_finite(tensor: torch.Tensor, what: str) -> None:
    """Raise ``ValueError`` if ``tensor`` holds NaN or inf: no slope can be measured there."""
    bad = (~torch.isfinite(tensor)).nonzero()
    if len(bad):
        raise ValueError(
            f"{what} holds NaN or inf (first at index {bad[0].tolist()}); finite differences "
            "need finite values. Check the gradient at a point where everything is finite."
        )


def _validate_settings(eps: float, atol: float = 0.0, rtol: float = 0.0) -> None:
    """Raise for a step that is not positive or a tolerance that is negative (NaN included)."""
    _checks.real("eps", eps, positive=True)
    _checks.real("atol", atol)
    _checks.real("rtol", rtol)


def _values(result: object, what: str = "fn()") -> torch.Tensor:
    """``result`` as a flat float64 CPU tensor; it must be a finite floating-point tensor."""
    if not isinstance(result, torch.Tensor) or not result.is_floating_point():
        got = f"a {result.dtype} tensor" if isinstance(result, torch.Tensor) else "not a tensor"
        raise TypeError(
            f"{what} returned {type(result).__name__}, {got}; it must return a floating-point "
            "tensor (the loss, or the output itself)."
        )
    values = result.detach().to("cpu", torch.float64).reshape(-1)
    if not torch.isfinite(values).all():
        raise ValueError(
            f"{what} is NaN or inf at the inputs given (e.g. log(0) or 0/0), so no derivative "
            "can be measured there; check the gradient at a point where it is finite."
        )
    return values


def _scalar(result: object) -> torch.Tensor:
    """The one value of ``fn()``'s result, which must be a tensor holding one number."""
    values = _values(result)
    if len(values) != 1:
        raise ValueError(
            f"fn() returned a tensor of shape {tuple(result.shape)}; a gradient needs a "
            "single value, e.g. a loss with reduction='mean' or output.sum()."
        )
    return values


def _numerical_jacobian(
    values: Callable[[], torch.Tensor], tensor: torch.Tensor, eps: float
) -> torch.Tensor:
    """Central differences of ``values()`` (flat) per element of ``tensor``: (outputs, elements)."""
    columns = []
    with torch.no_grad():
        for index in itertools.product(*(range(size) for size in tensor.shape)):
            # A Python float holds a float64 exactly, so writing it back restores every bit.
            original = tensor[index].item()
            try:
                tensor[index] = original + eps
                plus = values()
                tensor[index] = original - eps
                minus = values()
            finally:
                tensor[index] = original
            columns.append((plus - minus) / (2 * eps))
    return torch.stack(columns, dim=1)


def numerical_gradient(
    fn: Callable[[], torch.Tensor], tensor: torch.Tensor, *, eps: float = 1e-6
) -> torch.Tensor:
    """Estimate d fn() / d tensor by central differences, one element at a time.

    Each element of ``tensor`` is set to ``x + eps`` and ``x - eps`` in place (under
    :func:`torch.no_grad`, so autograd records nothing) and ``(f(x + eps) - f(x - eps)) / (2 *
    eps)`` is its partial derivative. The original value is written back after each element, also
    when ``fn`` raises, so the tensor ends bit-for-bit as it started. Because ``fn`` takes no
    arguments it can read the tensor through a model, a closure or a global. Only float64 is
    accepted (see the module notes on rounding error).

    >>> x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> grad = numerical_gradient(lambda: (x**2).sum(), x)
    >>> [round(g, 6) for g in grad.tolist()], grad.dtype
    ([2.0, 4.0, 6.0], torch.float64)
    >>> numerical_gradient(lambda: x.sum(), x.float())
    Traceback (most recent call last):
        ...
    TypeError: tensor has dtype torch.float32, but gradient checks need float64: ...
    """
    _checks.function("fn", fn)
    _require_float64(_checks.tensor("tensor", tensor), "tensor")
    _validate_settings(eps)
    if tensor.numel() == 0:
        return torch.zeros_like(tensor)
    return _numerical_jacobian(lambda: _scalar(fn()), tensor, eps).view(tensor.shape).to(tensor)


@dataclass(frozen=True)
class GradientComparison:
    """How autograd's gradient of one tensor compares with the numerical one.

    >>> row = GradientComparison("fc.weight", (1, 2), 2e-10, 1e-10, 1e-11, True)
    >>> row.name, row.shape, row.passed, row.index
    ('fc.weight', (1, 2), True, ())

    Parameters
    ----------
    name : str
        The parameter name from ``named_parameters()``, ``"inputs"`` or ``"input N"``.
    relative_error : float
        The largest ``|autograd - numerical| / max(|autograd|, |numerical|)``.
    passed : bool
        Whether every element passed ``|autograd - numerical| <= atol + rtol * |numerical|``.
    index, output_index : tuple of int
        The element that misses its tolerance by the largest factor, and the output
        element it was compared through (for a function with several outputs).
    analytical, numerical : float
        Autograd's and the numerical derivative at that element.
    note : str
        Why the tensor failed, when not only because of a mismatch.
    """

    name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    mean_abs_diff: float
    relative_error: float
    passed: bool
    index: tuple[int, ...] = ()
    output_index: tuple[int, ...] = ()
    analytical: float = 0.0
    numerical: float = 0.0
    note: str = ""


@dataclass
class GradcheckReport:
    """The result of a gradient check: one :class:`GradientComparison` per tensor.

    >>> rows = [
    ...     GradientComparison("0.weight", (3, 2), 0.5, 0.25, 0.5, False, (1, 0), (), 0.25, 0.75),
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
    0.weight[1, 0]: autograd 0.25, numerical 0.75
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
        else:
            verdict = "passed" if self.passed else "FAILED for " + ", ".join(self.failures)
        header = ("name", "shape", "max abs diff", "mean abs diff", "rel err", "result")
        rows = [
            (row.name, str(row.shape), f"{row.max_abs_diff:.2e}", f"{row.mean_abs_diff:.2e}",
             f"{row.relative_error:.2e}", "ok" if row.passed else "FAIL")
            for row in self.comparisons
        ]  # fmt: skip
        widths = [max(len(line[i]) for line in (header, *rows)) for i in range(len(header))]
        # Text columns align left, numbers right, so exponents line up.
        align = ["<", "<", ">", ">", ">", "<"]
        lines = [f"gradient check (eps={self.eps}, atol={self.atol}, rtol={self.rtol}): {verdict}"]
        for line in (header, *rows):
            cells = [f"{cell:{a}{w}}" for cell, a, w in zip(line, align, widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
        for row in self.comparisons:
            if not row.passed:
                through = f" (through output {list(row.output_index)})" if row.output_index else ""
                lines.append(
                    f"{row.name}{list(row.index)}{through}: autograd {row.analytical:.6g}, "
                    f"numerical {row.numerical:.6g}" + (f"; {row.note}" if row.note else "")
                )
        return "\n".join(lines)


def _compare(
    name: str, tensor: torch.Tensor, output: torch.Tensor, jacobians: tuple, tolerances: tuple,
    note: str, hint: str,
) -> GradientComparison:  # fmt: skip
    """One report row from the (outputs, elements) Jacobians of one tensor.

    ``note`` fails the row whatever the numbers; ``hint`` explains a mismatch, if there is one.
    """
    analytical, numerical = jacobians
    if analytical.numel() == 0:
        return GradientComparison(name, tuple(tensor.shape), 0.0, 0.0, 0.0, not note, note=note)
    diff = (analytical - numerical).abs()
    tolerance = tolerances[0] + tolerances[1] * numerical.abs()
    # Each element's difference in units of its tolerance: 0/0 counts 0, NaN counts worst.
    excess = torch.where(diff.isnan(), torch.inf, (diff / tolerance).nan_to_num(0.0, torch.inf))
    worst = int(excess.argmax())
    scale = torch.maximum(analytical.abs(), numerical.abs())
    matches = bool((diff <= tolerance).all())
    output_index, index = divmod(worst, analytical.shape[1])
    return GradientComparison(
        name,
        tuple(tensor.shape),
        diff.max().item(),
        diff.mean().item(),
        torch.where(scale > 0, diff / scale, 0.0).max().item(),
        matches and not note,
        tuple(int(i) for i in torch.unravel_index(torch.tensor(index), tensor.shape)),
        tuple(int(i) for i in torch.unravel_index(torch.tensor(output_index), output.shape)),
        analytical.view(-1)[worst].item(),
        numerical.view(-1)[worst].item(),
        note or ("" if matches else hint),
    )


def _analytical_jacobians(output: torch.Tensor, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Autograd's (outputs, elements) Jacobian of ``output`` for each tensor, one row per output."""
    flat = output.reshape(-1)
    rows: list[list[torch.Tensor]] = [[] for _ in tensors]
    for k in range(flat.numel()):
        grads = torch.autograd.grad(flat[k], tensors, retain_graph=True, allow_unused=True)
        for collected, tensor, grad in zip(rows, tensors, grads, strict=True):
            grad = torch.zeros_like(tensor) if grad is None else grad
            collected.append(grad.detach().to("cpu", torch.float64).reshape(-1))
    return [torch.stack(collected) for collected in rows]


def _check_tensors(
    evaluate: Callable[[], torch.Tensor],
    named: list[tuple[str, torch.Tensor]],
    *,
    scalar: bool,
    eps: float,
    atol: float,
    rtol: float,
) -> GradcheckReport:
    """Compare autograd with central differences for each named tensor of ``evaluate()``."""
    output = evaluate()
    values = _scalar(output) if scalar else _values(output, "fn(*inputs)")
    with torch.no_grad():
        again = _values(evaluate())
    # A tiny tolerance absorbs bit-level differences of GPU kernels; dropout changes far more.
    if not torch.allclose(values, again, rtol=1e-12, atol=1e-15):
        raise ValueError(
            f"the function's value changed between two identical evaluations ({values[0]:.17g} "
            f"then {again[0]:.17g} ...); finite differences need a deterministic function. "
            "Disable dropout and other randomness, e.g. with model.eval()."
        )
    tensors = [tensor for _, tensor in named]
    notes = [""] * len(tensors)
    if output.requires_grad:
        jacobians = _analytical_jacobians(output, tensors)
        repeated = _analytical_jacobians(output, tensors)
        zero = torch.zeros_like(output)
        from_zero = torch.autograd.grad(output, tensors, zero, allow_unused=True)
        for i, (first, second, grad) in enumerate(zip(jacobians, repeated, from_zero, strict=True)):
            if not torch.equal(first, second):
                notes[i] = "the backward is not deterministic: two runs gave different gradients"
            elif grad is not None and bool(grad.ne(0).any()):
                notes[i] = (
                    "the backward is not multiplied by grad_output: with grad_output = 0 it "
                    "still returns a nonzero gradient"
                )
    else:
        jacobians = [torch.zeros(values.numel(), t.numel(), dtype=torch.float64) for t in tensors]
    hint = (
        ""
        if output.requires_grad
        else (
            "the output does not require grad: the forward detaches it from the graph (.detach(), "
            ".item(), NumPy or torch.no_grad()), yet it changes with this tensor"
        )
    )
    rows, shaped = [], output.reshape(()) if scalar else output
    for (name, tensor), analytical, note in zip(named, jacobians, notes, strict=True):
        numerical = _numerical_jacobian(lambda: _values(evaluate()), tensor, eps)
        rows.append(
            _compare(name, tensor, shaped, (analytical, numerical), (atol, rtol), note, hint)
        )
    return GradcheckReport(rows, eps=eps, atol=atol, rtol=rtol)


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
    inputs, targets : torch.Tensor
        One batch on the model's device; floating inputs must be float64.
    eps, atol, rtol : float, default 1e-6, 1e-6 and 1e-4
        The step; each element passes when ``|autograd - numerical| <= atol + rtol *
        |numerical|``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (the message names it), or a parameter that
        requires grad, or floating ``inputs``, are not float64.
    ValueError
        If there is nothing to check, the inputs are empty or hold NaN or inf, the loss
        is not a single finite value, two identical evaluations of the loss differ, or
        ``eps``/``atol``/``rtol`` are out of range.
    """
    _checks.module("model", model)
    _checks.function("loss_fn", loss_fn)
    _checks.tensor("inputs", inputs)
    _checks.tensor("targets", targets)
    _checks.boolean("include_inputs", include_inputs)
    _validate_settings(eps, atol, rtol)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    for name, parameter in named:
        _require_float64(parameter, f"parameter {name!r}")
        _require_finite(parameter, f"parameter {name!r}")
    if include_inputs or inputs.is_floating_point():
        _require_float64(inputs, "inputs")
        _require_finite(inputs, "inputs")
    if inputs.numel() == 0:
        raise ValueError(f"inputs is empty (shape {tuple(inputs.shape)}); pass one batch.")
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
            lambda: loss_fn(model(inputs), targets),
            named,
            scalar=True,
            eps=eps,
            atol=atol,
            rtol=rtol,
        )
    finally:
        # Train-mode BatchNorm updates its running statistics on every forward pass.
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def check_function_gradients(
    fn: Callable[..., torch.Tensor],
    *inputs: object,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> GradcheckReport:
    """Check autograd's gradient of ``fn(*inputs)`` for each input that requires grad.

    This is the tool for a hand-written :class:`torch.autograd.Function` or any
    function of tensors. For a non-scalar output the whole Jacobian is checked, so no
    error can cancel out, as it would in the gradient of ``output.sum()``. Inputs that
    require grad are checked on float64 copies and named ``"input 0"``,
    ``"input 1"`` ... by position; other arguments are passed through unchanged.

    >>> x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> report = check_function_gradients(torch.mul, x, y)
    >>> report.passed, [row.name for row in report.comparisons]
    (True, ['input 0'])

    Parameters
    ----------
    *inputs
        The arguments; tensors with ``requires_grad=True`` must be float64 and are checked.
    eps, atol, rtol : float, default 1e-6, 1e-6 and 1e-4
        The step; each element passes when ``|autograd - numerical| <= atol + rtol *
        |numerical|``.

    Raises
    ------
    TypeError
        If an input that requires grad is not float64, or ``fn`` does not return a
        floating-point tensor.
    ValueError
        If no input requires grad, an input to check is empty or holds NaN or inf, ``fn``
        is NaN or inf there, two identical evaluations differ, or
        ``eps``/``atol``/``rtol`` are out of range.
    """
    _checks.function("fn", fn)
    _validate_settings(eps, atol, rtol)
    args = list(inputs)
    named = []
    for position, arg in enumerate(args):
        if isinstance(arg, torch.Tensor) and arg.requires_grad:
            _require_float64(arg, f"input {position}")
            _require_finite(arg, f"input {position}")
            if arg.numel() == 0:
                raise ValueError(
                    f"input {position} is empty (shape {tuple(arg.shape)}): there is nothing "
                    "to check. Pass at least one element."
                )
            args[position] = arg.detach().clone().requires_grad_(True)
            named.append((f"input {position}", args[position]))
    if not named:
        raise ValueError(
            "no input requires grad, so there is nothing to check; create the inputs "
            "to differentiate with requires_grad=True."
        )
    return _check_tensors(lambda: fn(*args), named, scalar=False, eps=eps, atol=atol, rtol=rtol)
