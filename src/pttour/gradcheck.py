"""§4.3 Gradient checking: autograd's gradients against finite differences.

Does autograd's gradient equal the slope measured numerically? For each element ``p`` the central
difference ``(f(p + eps) - f(p - eps)) / (2 * eps)`` is off by about ``eps**2`` plus rounding error
over ``eps``, so the check needs float64: float32 leaves three or four correct digits.

The verdict is :func:`torch.autograd.gradcheck`'s, at pttour's tolerances: each Jacobian element
passes when ``|autograd - numerical| <= atol + rtol * |numerical|``. At torch's defaults
(``atol=1e-5, rtol=1e-3``) a gradient off by less than 0.1 % passes; at pttour's (``atol=1e-6,
rtol=1e-4``) torch catches what a stricter method would. pttour adds the report: per tensor, the
largest and mean difference, and the element furthest outside its tolerance, with both values.

"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.autograd.gradcheck import GradcheckError
from torch.func import functional_call

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
        f"{what} has dtype {tensor.dtype}, but gradient checks need float64: with fewer digits "
        "(about 7 for float32) rounding error swamps the difference quotient. Convert it with "
        ".double() (a model with model.double())."
    )


def _validate_settings(eps: float, atol: float = 0.0, rtol: float = 0.0) -> None:
    """Raise for a step that is not positive or a tolerance that is negative (NaN included)."""
    _checks.real("eps", eps, positive=True)
    _checks.real("atol", atol)
    _checks.real("rtol", rtol)


def _outputs(result: object) -> tuple[torch.Tensor, ...]:
    """``fn``'s result as gradcheck reads it: a tensor, or a tuple or list of tensors."""
    outputs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if not all(isinstance(output, torch.Tensor) for output in outputs):
        raise TypeError(
            f"fn returned {type(result).__name__}, not a tensor or a tuple of tensors; "
            "return the loss, or the output itself."
        )
    return outputs


def _real(output: torch.Tensor) -> torch.Tensor:
    """A complex output as its real and imaginary parts, which gradcheck checks separately."""
    return torch.stack((output.real, output.imag)) if output.is_complex() else output


def _numerical_jacobians(
    evaluate: Callable[[], tuple[torch.Tensor, ...]], tensors: list[torch.Tensor], eps: float
) -> list[torch.Tensor]:
    """Central differences of ``evaluate()`` per element of each tensor: (elements, outputs).

    Each output is copied before the next perturbation: one that is a view of the input (the
    identity, ``x.reshape(-1)``, ``x[0]``) would otherwise change when the input is restored.
    Each element is written back, also when ``evaluate`` raises.
    """

    def values() -> list[torch.Tensor]:
        return [output.detach().clone().reshape(-1) for output in evaluate()]

    width = sum(len(v) for v in values())
    jacobians = []
    for tensor in tensors:
        data = tensor.data  # perturbing .data leaves autograd's version counter alone
        result = torch.zeros(data.numel(), width, dtype=torch.float64, device=data.device)
        for row, index in enumerate(itertools.product(*map(range, data.shape))):
            entry = data[index]
            original = entry.clone()
            try:
                entry.copy_(original - eps)
                minus = values()
                entry.copy_(original + eps)
                plus = values()
            finally:
                entry.copy_(original)
            if width:
                result[row] = torch.cat(
                    [(p - m) / (2 * eps) for p, m in zip(plus, minus, strict=True)]
                )
        jacobians.append(result)
    return jacobians


def _analytical_jacobians(
    outputs: tuple[torch.Tensor, ...], tensors: list[torch.Tensor]
) -> list[torch.Tensor]:
    """Autograd's (elements, outputs) Jacobian of each tensor: one backward per output element."""
    width = sum(output.numel() for output in outputs)
    jacobians = [
        torch.zeros(t.numel(), width, dtype=torch.float64, device=t.device) for t in tensors
    ]
    columns = ((output, k) for output in outputs for k in range(output.numel()))
    for column, (output, k) in enumerate(columns):
        unit = torch.zeros_like(output, memory_format=torch.contiguous_format)
        unit.view(-1)[k] = 1
        grads = torch.autograd.grad(output, tensors, unit, retain_graph=True, allow_unused=True)
        for result, grad in zip(jacobians, grads, strict=True):
            if grad is not None:
                result[:, column] = grad.reshape(-1)
    return jacobians


def numerical_gradient(
    fn: Callable[[], torch.Tensor], tensor: torch.Tensor, *, eps: float = 1e-6
) -> torch.Tensor:
    """Estimate d fn() / d tensor by central differences, one element at a time.

    Each element is set to ``x - eps`` and ``x + eps`` in place (under ``torch.no_grad()``) and
    written back afterwards, also when ``fn`` raises. ``fn`` takes no arguments, so it can read
    the tensor through a model, a closure or a global. Only float64 is accepted.

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

    def loss() -> tuple[torch.Tensor, ...]:
        value = _outputs(fn())
        if value[0].numel() != 1 or not value[0].is_floating_point():
            raise ValueError(
                f"fn() returned a {value[0].dtype} tensor of shape {tuple(value[0].shape)}; a "
                "gradient needs a single floating-point value, e.g. a loss with "
                "reduction='mean' or output.sum()."
            )
        return value

    with torch.no_grad():
        return _numerical_jacobians(loss, [tensor], eps)[0].view(tensor.shape).to(tensor)


@dataclass(frozen=True)
class GradientComparison:
    """How autograd's gradient of one tensor compares with the numerical one.

    ``index`` is the element furthest outside its tolerance, ``output`` and ``output_index``
    the output (and its element) it was compared through, ``analytical`` and ``numerical`` the
    two derivatives there; ``relative_error`` is the largest ``|a - n| / max(|a|, |n|)``.

    >>> GradientComparison("fc.weight", (1, 2), 2e-10, 1e-10, 1e-11, True).index
    ()
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
    note: str = ""  # why the tensor failed, when not only because of a mismatch
    output: int = 0


@dataclass
class GradcheckReport:
    """The result of a gradient check: one :class:`GradientComparison` per tensor.

    ``torch_message`` is the first line of :func:`torch.autograd.gradcheck`'s error, or ``""``;
    the check passes when torch passed and so did every row.

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
    torch_message: str = ""

    @property
    def passed(self) -> bool:
        """True when torch's gradcheck passed and so did every tensor checked."""
        rows = self.comparisons
        return bool(rows) and not self.torch_message and all(row.passed for row in rows)

    @property
    def failures(self) -> list[str]:
        """Names of the tensors that failed, in the order checked."""
        return [row.name for row in self.comparisons if not row.passed]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        if self.failures:
            verdict += " for " + ", ".join(self.failures)
        header = ("name", "shape", "max abs diff", "mean abs diff", "rel err", "result")
        rows = [
            (row.name, str(row.shape), f"{row.max_abs_diff:.2e}", f"{row.mean_abs_diff:.2e}",
             f"{row.relative_error:.2e}", "ok" if row.passed else "FAIL")
            for row in self.comparisons
        ]  # fmt: skip
        widths = [max(len(line[i]) for line in (header, *rows)) for i in range(len(header))]
        align = "<<>>><"  # text left, numbers right so that exponents line up
        lines = [f"gradient check (eps={self.eps}, atol={self.atol}, rtol={self.rtol}): {verdict}"]
        for line in (header, *rows):
            cells = [f"{cell:{a}{w}}" for cell, a, w in zip(line, align, widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
        several = any(row.output for row in self.comparisons)
        for row in self.comparisons:
            if not row.passed:
                output = f"{row.output if several else ''}{list(row.output_index)}"
                through = f" (through output {output})" if several or row.output_index else ""
                lines.append(
                    f"{row.name}{list(row.index)}{through}: autograd {row.analytical:.6g}, "
                    f"numerical {row.numerical:.6g}" + (f"; {row.note}" if row.note else "")
                )
        if self.torch_message and not self.failures:
            lines.append(f"torch.autograd.gradcheck: {self.torch_message}")
        return "\n".join(lines)


def _compare(
    name: str, tensor: torch.Tensor, jacobians: tuple[torch.Tensor, torch.Tensor],
    tolerances: tuple[float, float], shapes: list[torch.Size], notes: tuple[str, str],
) -> GradientComparison:  # fmt: skip
    """One row from one tensor's (elements, outputs) Jacobians; ``notes``: (fails it, hint)."""
    (analytical, numerical), (atol, rtol), (note, hint) = jacobians, tolerances, notes
    close = torch.isclose(analytical, numerical, rtol=rtol, atol=atol)  # gradcheck's allclose
    matches = bool(close.all())
    if analytical.numel() == 0:
        return GradientComparison(name, tuple(tensor.shape), 0.0, 0.0, 0.0, not note, note=note)
    diff = (analytical - numerical).abs()
    # Each element's difference in units of its tolerance; any failing element ranks first.
    ratio = diff / (atol + rtol * numerical.abs())
    worst = int(torch.where(close, ratio.nan_to_num(0.0), ratio.nan_to_num(torch.inf)).argmax())
    element, column = divmod(worst, analytical.shape[1])
    starts = list(itertools.accumulate((shape.numel() for shape in shapes), initial=0))
    output = bisect.bisect_right(starts, column) - 1
    where = torch.unravel_index(torch.tensor(column - starts[output]), shapes[output])
    return GradientComparison(
        name,
        tuple(tensor.shape),
        diff.max().item(),
        diff.mean().item(),
        (diff / torch.maximum(analytical.abs(), numerical.abs())).nan_to_num(0.0).max().item(),
        matches and not note,
        tuple(int(i) for i in torch.unravel_index(torch.tensor(element), tensor.shape)),
        tuple(int(i) for i in where),
        analytical[element, column].item(),
        numerical[element, column].item(),
        note or ("" if matches else hint),
        output,
    )


NOT_MULTIPLIED = (
    "the backward is not multiplied by grad_output: with grad_output = 0 it still returns a "
    "nonzero gradient"
)
DETACHED = (
    "the output does not require grad: the forward detaches it from the graph (.detach(), "
    ".item(), NumPy or torch.no_grad()), yet it changes with this tensor"
)


def _check(
    fn: Callable[..., object], named: list[tuple[str, torch.Tensor]], *,
    eps: float, atol: float, rtol: float,
) -> GradcheckReport:  # fmt: skip
    """Check ``fn(*tensors)`` with torch's gradcheck, and compare each tensor's Jacobians."""
    tensors = [tensor for _, tensor in named]
    outputs = _outputs(fn(*tensors))
    # What gradcheck compares: the outputs that require grad, or when none does, every
    # floating output, whose numerical gradient must then be exactly zero.
    compared = [i for i, output in enumerate(outputs) if output.requires_grad]
    differentiable = bool(compared)
    compared = compared or [
        i for i, o in enumerate(outputs) if o.is_floating_point() or o.is_complex()
    ]

    def chosen(*inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        result = _outputs(fn(*inputs))
        return tuple(_real(result[i]) for i in compared)

    for first, second in zip(chosen(*tensors), chosen(*tensors), strict=True):
        if not torch.isfinite(first).all():
            raise ValueError(
                "the function is NaN or inf at the inputs given (e.g. log(0) or 0/0), so no "
                "derivative can be measured there; check the gradient where it is finite."
            )
        # A tiny tolerance absorbs bit-level differences of GPU kernels; dropout changes more.
        if not torch.allclose(first, second, rtol=1e-12, atol=1e-15):
            raise ValueError(
                "the function's value changed between two identical evaluations; finite "
                "differences need a deterministic function. Disable dropout and other "
                "randomness, e.g. with model.eval()."
            )
    shapes = [_real(outputs[i]).shape for i in compared]
    numerical = _numerical_jacobians(lambda: chosen(*tensors), tensors, eps)
    notes = [("", "")] * len(tensors)
    if differentiable:
        analytical = _analytical_jacobians(chosen(*tensors), tensors)
        zeros = [torch.zeros_like(outputs[i]) for i in compared]
        checked = [outputs[i] for i in compared]
        for i, grad in enumerate(torch.autograd.grad(checked, tensors, zeros, allow_unused=True)):
            if grad is not None and bool(grad.ne(0).any()):
                notes[i] = (NOT_MULTIPLIED, "")
        tolerances = (atol, rtol)
    else:
        analytical = [torch.zeros_like(result) for result in numerical]
        tolerances = (0.0, 0.0)
        notes = [("", DETACHED)] * len(tensors)
    rows = [
        _compare(name, tensor, jacobians, tolerances, shapes, note)
        for (name, tensor), note, *jacobians in zip(
            named, notes, analytical, numerical, strict=True
        )
    ]
    try:
        torch.autograd.gradcheck(fn, tuple(tensors), eps=eps, atol=atol, rtol=rtol,
                                 check_undefined_grad=False, check_batched_grad=False,
                                 fast_mode=False)  # fmt: skip
        message = ""
    except GradcheckError as error:
        message = (str(error).strip() or "failed").splitlines()[0]
    return GradcheckReport(rows, eps=eps, atol=atol, rtol=rtol, torch_message=message)


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

    Each parameter that requires grad is checked by :func:`torch.autograd.gradcheck` on a copy
    passed in with :func:`torch.func.functional_call`, and reported by its name in
    ``named_parameters()``; with ``include_inputs=True``, ``inputs`` too. The model comes back as
    it went in (buffers such as BatchNorm's statistics restored). The model must be float64 and
    deterministic, with one target per input; keep it small: each element costs a few forwards.

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
    """
    _checks.module("model", model)
    _checks.function("loss_fn", loss_fn)
    _checks.tensor("inputs", inputs)
    _checks.tensor("targets", targets)
    _checks.boolean("include_inputs", include_inputs)
    _validate_settings(eps, atol, rtol)
    _checks.same_batch(inputs, targets)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    for name, parameter in named:
        _require_float64(parameter, f"parameter {name!r}")
    if include_inputs or inputs.is_floating_point():
        _require_float64(inputs, "inputs")
    if inputs.numel() == 0:
        raise ValueError(f"inputs is empty (shape {tuple(inputs.shape)}); pass one batch.")
    # Copies: gradcheck perturbs what it checks, and the caller's tensors stay as they are.
    named = [(name, p.detach().clone().requires_grad_()) for name, p in named]
    if include_inputs:
        named.append(("inputs", inputs.detach().clone().requires_grad_()))
    if not named:
        raise ValueError(
            "the model has no parameter that requires grad; pass include_inputs=True "
            "or unfreeze a parameter with requires_grad_(True)."
        )
    names = [name for name, _ in named][: len(named) - include_inputs]

    def loss(*tensors: torch.Tensor) -> torch.Tensor:
        weights = dict(zip(names, tensors[: len(names)], strict=True))
        batch = tensors[-1] if include_inputs else inputs
        return loss_fn(functional_call(model, weights, (batch,)), targets)

    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        return _check(loss, named, eps=eps, atol=atol, rtol=rtol)
    finally:
        # Train-mode BatchNorm updates its running statistics on every forward pass.
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def check_function_gradients(
    fn: Callable[..., torch.Tensor | tuple[torch.Tensor, ...]],
    *inputs: object,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> GradcheckReport:
    """Check autograd's gradient of ``fn(*inputs)`` for each input that requires grad.

    The tool for a hand-written :class:`torch.autograd.Function`: the whole Jacobian of every
    output is checked, so no error cancels out as in the gradient of ``output.sum()``. Inputs that
    require grad (float64) are checked on copies, named ``"input 0"`` ... by position; ``fn`` may
    return a tensor or a tuple of tensors, empty ones included. A wrong argument, an ``fn`` that
    is NaN, inf or random at the inputs, raises ``TypeError`` or ``ValueError``.

    >>> x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> report = check_function_gradients(torch.mul, x, y)
    >>> report.passed, [row.name for row in report.comparisons]
    (True, ['input 0'])
    >>> check_function_gradients(lambda t: t.reshape(-1), x.view(3, 1)).passed  # a view
    True
    """
    _checks.function("fn", fn)
    _validate_settings(eps, atol, rtol)
    args, positions, copies = list(inputs), [], {}
    for position, arg in enumerate(args):
        if isinstance(arg, torch.Tensor) and arg.requires_grad:
            _require_float64(arg, f"input {position}")
            # One copy per tensor, so a tensor passed twice is still one tensor.
            args[position] = copies.setdefault(id(arg), arg.detach().clone().requires_grad_())
            positions.append(position)
    if not positions:
        raise ValueError(
            "no input requires grad, so there is nothing to check; create the inputs "
            "to differentiate with requires_grad=True."
        )

    def call(*tensors: torch.Tensor) -> object:
        for position, tensor in zip(positions, tensors, strict=True):
            args[position] = tensor
        return fn(*args)

    named = [(f"input {position}", args[position]) for position in positions]
    return _check(call, named, eps=eps, atol=atol, rtol=rtol)
