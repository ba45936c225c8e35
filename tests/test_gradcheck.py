"""Tests for pttour.gradcheck: numerical against autograd gradients, per parameter."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from conftest import cpu_and_cuda
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from pttour.gradcheck import (
    check_function_gradients,
    check_model_gradients,
    numerical_gradient,
)

F64 = torch.float64


class _Square(torch.autograd.Function):
    """x * x with the correct backward, 2 * x * grad."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


class _SquareWrongBackward(_Square):  # the forward of _Square, another backward
    """x * x whose backward forgets the factor x: a deliberate bug."""

    @staticmethod
    def backward(ctx, grad_output):
        return 2 * grad_output


class _SquareLayer(nn.Module):
    """A model layer that applies a custom autograd Function."""

    def __init__(self, function: type[torch.autograd.Function]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function.apply(x)


def _model(square: type[torch.autograd.Function], device: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), _SquareLayer(square), nn.Linear(3, 1))
    return model.to(device=device, dtype=F64)


def _batch(device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    inputs = torch.tensor([[0.3, -1.2], [1.5, 0.7], [-0.4, 0.9], [2.0, -0.5]], dtype=F64)
    targets = torch.tensor([[1.0], [-2.0], [0.5], [3.0]], dtype=F64)
    return inputs.to(device), targets.to(device)


# --- correct models pass, wrong gradients are caught ---------------------------------------


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_correct_model_passes_for_every_parameter(device):
    model = _model(_Square, device)
    inputs, targets = _batch(device)

    report = check_model_gradients(model, nn.MSELoss(), inputs, targets, include_inputs=True)

    assert report.passed
    assert report.failures == []
    names = [row.name for row in report.comparisons]
    assert names == [*(name for name, _ in model.named_parameters()), "inputs"]
    shapes = [row.shape for row in report.comparisons]
    assert shapes == [*(tuple(p.shape) for p in model.parameters()), (4, 2)]
    assert max(row.max_abs_diff for row in report.comparisons) < 1e-7


def test_single_linear_layer_passes():
    torch.manual_seed(1)
    model = nn.Linear(2, 1).double()
    inputs = torch.rand(100, 2, dtype=F64)
    targets = inputs[:, :1] * 3 + inputs[:, 1:] + 4

    report = check_model_gradients(model, nn.MSELoss(), inputs, targets)

    assert report.passed
    assert [row.name for row in report.comparisons] == ["weight", "bias"]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_wrong_backward_inside_a_model_is_caught_and_named(device):
    model = _model(_SquareWrongBackward, device)
    inputs, targets = _batch(device)

    report = check_model_gradients(model, nn.MSELoss(), inputs, targets, include_inputs=True)

    assert not report.passed
    # Only what lies before the wrong layer receives a wrong gradient.
    assert report.failures == ["0.weight", "0.bias", "inputs"]
    passed = {row.name for row in report.comparisons if row.passed}
    assert passed == {"2.weight", "2.bias"}
    failing = next(row for row in report.comparisons if row.name == "0.weight")
    assert failing.relative_error > 1e-2


def test_wrong_backward_is_caught_by_check_function_gradients():
    x = torch.tensor([0.5, -1.5, 2.0], dtype=F64, requires_grad=True)
    y = torch.tensor([1.0, 2.0, -3.0], dtype=F64, requires_grad=True)

    assert check_function_gradients(_Square.apply, x).passed
    wrong = check_function_gradients(_SquareWrongBackward.apply, x)
    assert not wrong.passed
    assert wrong.failures == ["input 0"]

    both = check_function_gradients(lambda a, b: _SquareWrongBackward.apply(a) * b, x, y)
    assert both.failures == ["input 0"]
    assert [row.name for row in both.comparisons] == ["input 0", "input 1"]


def test_torch_gradcheck_returns_true_or_raises_gradcheck_error():
    x = torch.tensor([0.5, -1.5, 2.0], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(_Square.apply, (x,)) is True
    with pytest.raises(GradcheckError):  # its wording is checked by erratum E15's test
        torch.autograd.gradcheck(_SquareWrongBackward.apply, (x,))
    assert issubclass(GradcheckError, RuntimeError)


@pytest.mark.cuda
def test_torch_gradcheck_passes_on_cuda():
    x = torch.tensor([0.5, -1.5, 2.0], dtype=F64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(torch.sin, (x,)) is True
    assert torch.autograd.gradcheck(_Square.apply, (x,)) is True
    with pytest.raises(GradcheckError):
        torch.autograd.gradcheck(_SquareWrongBackward.apply, (x,))


# --- the pass criterion ------------------------------------------------------------------------


class _DoubleSlightlyOff(torch.autograd.Function):
    """2 * x whose backward returns 2.001 * grad: off by 0.05 %."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad_output):
        return 2.001 * grad_output


def test_pass_criterion_is_atol_plus_rtol_times_each_numerical_element():
    # Each diagonal element of the Jacobian is 2.001 against 2, off by 0.001 = 0.0005 * 2,
    # so with atol=0 the check passes exactly when rtol >= 0.0005.
    x = torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=F64, requires_grad=True)
    loose = check_function_gradients(_DoubleSlightlyOff.apply, x, atol=0.0, rtol=6e-4)
    strict = check_function_gradients(_DoubleSlightlyOff.apply, x, atol=0.0, rtol=4e-4)
    assert loose.passed
    assert not strict.passed
    row = strict.comparisons[0]
    assert row.relative_error == pytest.approx(0.001 / 2.001, rel=1e-4)


class _SoftmaxZeroBackward(torch.autograd.Function):
    """Softmax whose backward always returns zeros: wrong, but right for a plain sum."""

    @staticmethod
    def forward(ctx, x):
        return torch.softmax(x, dim=0)

    @staticmethod
    def backward(ctx, grad_output):
        return torch.zeros_like(grad_output)


def test_non_scalar_outputs_are_checked_output_by_output_where_a_plain_sum_would_not_be():
    x = torch.tensor([0.1, 0.7, -0.3], dtype=F64, requires_grad=True)
    # Softmax sums to 1, so the gradient of the sum is zero and the bug is invisible...
    assert check_function_gradients(lambda t: _SoftmaxZeroBackward.apply(t).sum(), x).passed
    # ...but the gradient of each output exposes it.
    assert check_function_gradients(_SoftmaxZeroBackward.apply, x).failures == ["input 0"]
    assert check_function_gradients(lambda t: torch.softmax(t, dim=0), x).passed


# --- dtype: float64 is required --------------------------------------------------------------


def test_float32_model_is_rejected_with_the_parameter_name():
    model = _model(_Square).float()
    inputs, targets = _batch()
    with pytest.raises(TypeError, match=r"'0\.weight'.*torch\.float32.*float64.*\.double\(\)"):
        check_model_gradients(model, nn.MSELoss(), inputs.float(), targets.float())


def test_float32_inputs_are_rejected():
    inputs, targets = _batch()
    with pytest.raises(TypeError, match=r"inputs has dtype torch\.float32.*float64"):
        check_model_gradients(_model(_Square), nn.MSELoss(), inputs.float(), targets)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_numerical_gradient_rejects_low_precision(dtype):
    x = torch.ones(3, dtype=dtype)
    with pytest.raises(TypeError, match=r"rounding error.*double"):
        numerical_gradient(lambda: x.sum(), x)


def test_numerical_gradient_rejects_integer_tensors_and_function_inputs():
    x = torch.ones(3, dtype=torch.int64)
    with pytest.raises(TypeError, match=r"torch\.int64, but gradient checks need float64"):
        numerical_gradient(lambda: x.sum(), x)
    with pytest.raises(TypeError, match=r"input 1.*float32"):
        check_function_gradients(
            torch.mul,
            torch.ones(2, dtype=F64, requires_grad=True),
            torch.ones(2, requires_grad=True),
        )


def test_float32_not_the_tiny_eps_ruins_the_central_difference():
    # d/dx x**3 at x = 1.3 is 5.07. The article's eps=1e-7 is below float32's
    # spacing near 1.3 (about 1.2e-7), so the quotient is mostly rounding noise;
    # in float64 the same eps is accurate to about 1e-8.
    exact = 3 * 1.3**2
    eps = 1e-7
    x32 = torch.tensor(1.3, dtype=torch.float32)
    float32_estimate = (((x32 + eps) ** 3 - (x32 - eps) ** 3) / (2 * eps)).item()
    x64 = torch.tensor(1.3, dtype=F64)
    float64_estimate = numerical_gradient(lambda: x64**3, x64, eps=eps).item()

    assert abs(float32_estimate - exact) > 0.1
    assert abs(float64_estimate - exact) < 1e-6


# --- numerical_gradient ----------------------------------------------------------------------


def test_numerical_gradient_matches_the_analytic_gradient_of_a_matrix():
    w = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], dtype=F64)
    a = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]], dtype=F64)
    grad = numerical_gradient(lambda: (a * w**2).sum(), w)
    assert grad.shape == w.shape
    assert grad.dtype == F64
    assert torch.allclose(grad, 2 * a * w, atol=1e-8)


def test_numerical_gradient_handles_a_zero_dimensional_tensor():
    x = torch.tensor(0.5, dtype=F64)
    grad = numerical_gradient(lambda: torch.exp(x), x)
    assert grad.shape == ()
    assert grad.item() == pytest.approx(torch.exp(x).item(), abs=1e-8)


def test_numerical_gradient_restores_the_tensor_when_fn_raises():
    x = torch.tensor([0.1, 0.2, 0.3], dtype=F64)
    original = x.clone()
    calls = 0

    def failing():
        nonlocal calls
        calls += 1
        if calls == 4:  # the second element's first evaluation
            raise RuntimeError("boom")
        return x.sum()

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(failing, x)
    assert torch.equal(x, original)


def test_numerical_gradient_leaves_the_tensor_bit_identical():
    x = torch.tensor([0.1, 1e-3, 12345.678], dtype=F64)
    original = x.clone()
    numerical_gradient(lambda: (x**2).sum(), x, eps=1e-6)
    assert torch.equal(x, original)


def test_numerical_gradient_rejects_non_scalar_results_and_bad_steps():
    x = torch.ones(3, dtype=F64)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        numerical_gradient(lambda: x * 2, x)
    with pytest.raises(TypeError, match="not a tensor"):
        numerical_gradient(lambda: 1.0, x)
    with pytest.raises(TypeError, match=r"^fn must be callable"):
        numerical_gradient(None, x)
    with pytest.raises(TypeError, match=r"^tensor must be a torch\.Tensor"):
        numerical_gradient(lambda: x.sum(), [1.0])
    with pytest.raises(ValueError, match="eps=0"):
        numerical_gradient(lambda: x.sum(), x, eps=0)


# --- the model comes back untouched --------------------------------------------------------


def test_check_leaves_parameters_grads_and_inputs_untouched():
    model = _model(_SquareWrongBackward)
    inputs, targets = _batch()
    inputs_before = inputs.clone()
    params_before = {name: p.detach().clone() for name, p in model.named_parameters()}

    check_model_gradients(model, nn.MSELoss(), inputs, targets, include_inputs=True)

    for name, p in model.named_parameters():
        assert torch.equal(p.detach(), params_before[name]), name
        assert p.grad is None, name
    assert torch.equal(inputs, inputs_before)
    assert inputs.grad is None


def test_check_keeps_existing_gradients_as_they_were():
    model = _model(_Square)
    inputs, targets = _batch()
    nn.MSELoss()(model(inputs), targets).backward()
    grads_before = {name: p.grad.clone() for name, p in model.named_parameters()}

    check_model_gradients(model, nn.MSELoss(), inputs, targets)

    for name, p in model.named_parameters():
        assert torch.equal(p.grad, grads_before[name]), name


def test_check_restores_batchnorm_running_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)).double().train()
    inputs, targets = _batch()
    buffers_before = {name: b.clone() for name, b in model.named_buffers()}

    report = check_model_gradients(model, nn.MSELoss(), inputs, targets)

    assert report.passed
    for name, b in model.named_buffers():
        assert torch.equal(b, buffers_before[name]), name


def test_frozen_parameters_are_skipped_and_nothing_to_check_is_an_error():
    model = _model(_Square)
    inputs, targets = _batch()
    model[0].requires_grad_(False)
    report = check_model_gradients(model, nn.MSELoss(), inputs, targets)
    assert [row.name for row in report.comparisons] == ["2.weight", "2.bias"]

    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter that requires grad"):
        check_model_gradients(model, nn.MSELoss(), inputs, targets)
    with pytest.raises(ValueError, match="no input requires grad"):
        check_function_gradients(torch.sin, torch.ones(2, dtype=F64))


def test_active_dropout_is_reported_as_non_deterministic():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 1)).double()
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=r"deterministic.*model\.eval\(\)"):
        check_model_gradients(model.train(), nn.MSELoss(), inputs, targets)
    assert check_model_gradients(model.eval(), nn.MSELoss(), inputs, targets).passed


@pytest.mark.parametrize(("name", "value"), [("eps", -1e-6), ("atol", -1.0), ("rtol", -1.0)])
def test_settings_out_of_range_are_rejected(name, value):
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=f"{name}={value}"):
        check_model_gradients(_model(_Square), nn.MSELoss(), inputs, targets, **{name: value})


# --- the report -----------------------------------------------------------------------------------


def test_report_string_lists_every_parameter_with_its_verdict():
    model = _model(_SquareWrongBackward)
    inputs, targets = _batch()

    text = str(check_model_gradients(model, nn.MSELoss(), inputs, targets))

    lines = text.splitlines()
    assert "FAILED for 0.weight, 0.bias" in lines[0]
    assert lines[1].split()[:2] == ["name", "shape"]
    table = lines[1:6]
    rows = {line.split()[0]: line for line in table[1:]}
    assert list(rows) == [name for name, _ in model.named_parameters()]
    assert rows["0.weight"].endswith("FAIL")
    assert rows["2.bias"].endswith("ok")
    assert "e-" in rows["2.bias"]  # scientific notation
    # Aligned: every row is as wide as the header up to its verdict column.
    assert len({line.rindex("  ") for line in table}) == 1
    # Then the worst element of each failing tensor, with both values.
    assert [line.split("[")[0] for line in lines[6:]] == ["0.weight", "0.bias"]
    assert all(": autograd " in line and ", numerical " in line for line in lines[6:])


# --- per element: the worst element is named; nothing hides behind a large entry ------------


def _exp_with_wrong_sign_at(index: int) -> type[torch.autograd.Function]:
    class ExpWrongSign(torch.autograd.Function):
        """exp whose backward flips the sign of one element."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.exp(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            grad = grad_output * torch.exp(x)
            grad[..., index] = -grad[..., index]
            return grad

    return ExpWrongSign


def test_a_wrong_small_entry_next_to_large_ones_fails_and_is_named():
    # The gradient spans e**-6 (0.0025) to e**6 (403): a tolerance relative to the largest
    # entry (403 * 1e-4 = 0.04) would pass element 0 with its sign flipped (off by 0.005).
    x = torch.tensor([-6.0, 0.0, 6.0], dtype=F64, requires_grad=True)
    report = check_function_gradients(_exp_with_wrong_sign_at(0).apply, x)
    assert not report.passed
    row = report.comparisons[0]
    assert (row.index, row.output_index) == ((0,), (0,))
    assert row.analytical == pytest.approx(-math.exp(-6))
    assert row.numerical == pytest.approx(math.exp(-6), rel=1e-6)
    assert "input 0[0] (through output [0]): autograd -0.00247875, numerical 0.00247875" in str(
        report
    )


class _LinearWrongColumnSign(torch.autograd.Function):
    """x @ w.T + b whose weight gradient has the sign of column 0 flipped."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        grad_w = grad_output.T @ x
        grad_w[:, 0] = -grad_w[:, 0]
        return grad_output @ w, grad_w, grad_output.sum(0)


class _WrongColumnLinear(nn.Linear):
    def forward(self, x):
        return _LinearWrongColumnSign.apply(x, self.weight, self.bias)


def test_a_wrong_sign_column_of_a_linear_layer_with_unnormalised_features_fails():
    # Feature 0 is of order 1, feature 1 of order 1e5: weight column 0's gradient is tiny
    # next to column 1's, and only a per-element rule sees its sign is wrong.
    torch.manual_seed(0)
    model = _WrongColumnLinear(2, 1).double()
    inputs = torch.stack([torch.linspace(-1, 1, 8), torch.linspace(5e4, 1.5e5, 8)], 1).double()
    targets = torch.zeros(8, 1, dtype=F64)
    report = check_model_gradients(model, nn.MSELoss(), inputs, targets)
    assert report.failures == ["weight"]
    row = report.comparisons[0]
    assert row.index == (0, 0)
    assert row.analytical == pytest.approx(-row.numerical, rel=1e-4)  # the sign, flipped


def test_a_detached_forward_fails_with_a_message_saying_so():
    x = torch.tensor([0.5, -1.0], dtype=F64, requires_grad=True)
    report = check_function_gradients(lambda t: t.detach() * 2, x)
    assert not report.passed
    assert "does not require grad" in report.comparisons[0].note
    assert "detaches it" in str(report)
    # A truly constant output has a zero gradient, and autograd's zero is right.
    assert check_function_gradients(lambda t: torch.ones(3, dtype=F64), x).passed
    # A model whose forward detaches, likewise.
    model = nn.Sequential(nn.Linear(2, 1)).double()
    model.register_forward_hook(lambda _module, _args, output: output.detach())
    detached = check_model_gradients(
        model, nn.MSELoss(), x.detach().view(1, 2), x.detach()[:1].view(1, 1)
    )
    assert detached.failures == ["0.weight", "0.bias"]


def test_a_function_that_is_nan_or_inf_gets_a_clear_error():
    with pytest.raises(ValueError, match="NaN or inf at the inputs given"):
        check_function_gradients(torch.log, torch.tensor([0.0, 1.0], dtype=F64, requires_grad=True))
    inputs, targets = _batch()
    inputs[2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf at the inputs given"):
        check_model_gradients(_model(_Square), nn.MSELoss(), inputs, targets)


def test_an_empty_batch_and_a_batch_without_targets_get_a_clear_error():
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=r"inputs is empty \(shape \(0, 2\)\)"):
        check_model_gradients(_model(_Square), nn.MSELoss(), inputs[:0], targets[:0])
    with pytest.raises(
        ValueError, match=r"^targets has batch size 3 \(shape \(3, 1\)\) but inputs"
    ):
        check_model_gradients(_model(_Square), nn.MSELoss(), inputs, targets[:3])


class _SquareIgnoresGradOutput(_Square):  # the forward of _Square, another backward
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x  # right only when grad_output is 1


class _SquareNondeterministicBackward(_Square):  # the forward of _Square, another backward
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output * (1 + 1e-13 * torch.randn_like(x))


def test_a_backward_that_ignores_grad_output_fails_even_for_one_output():
    # With one output the Jacobian check feeds grad_output = 1 and sees nothing wrong.
    x = torch.tensor([0.7], dtype=F64, requires_grad=True)
    report = check_function_gradients(_SquareIgnoresGradOutput.apply, x)
    assert not report.passed
    assert "not multiplied by grad_output" in report.comparisons[0].note


def test_a_nondeterministic_backward_fails():
    x = torch.tensor([0.5, -1.5], dtype=F64, requires_grad=True)
    report = check_function_gradients(_SquareNondeterministicBackward.apply, x)
    # Each Jacobian matches within the tolerance; torch's second backward differs from the first.
    assert report.comparisons[0].passed
    assert not report.passed
    assert report.torch_message
    assert str(report).endswith(f"torch.autograd.gradcheck: {report.torch_message}")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: check_model_gradients(None, nn.MSELoss(), *_batch()), "model"),
        (lambda: check_model_gradients(_model(_Square), None, *_batch()), "loss_fn"),
        (lambda: check_model_gradients(_model(_Square), nn.MSELoss(), None, None), "inputs"),
        (
            lambda: check_model_gradients(
                _model(_Square), nn.MSELoss(), *_batch(), include_inputs="yes"
            ),
            "include_inputs",
        ),
        (lambda: check_function_gradients(None, torch.ones(2, dtype=F64)), "fn"),
        (lambda: check_function_gradients(torch.sin, torch.ones(2, dtype=F64), eps="1e-6"), "eps"),
    ],
)
def test_wrong_types_name_the_argument(call, name):
    with pytest.raises(TypeError, match=f"^{name} must be"):
        call()


# --- correct code always passes, as it does in torch.autograd.gradcheck --------------------------

X = torch.tensor([[0.5, -1.0, 2.0], [0.25, 1.5, -0.75]], dtype=F64)

CORRECT = {
    # Outputs that are views of the input: a checker that keeps them uncopied while it
    # perturbs and restores the input reports these wrong.
    "reshape": lambda x: x.reshape(-1),
    "identity": lambda x: x,
    "transpose": lambda x: x.t(),
    "slice": lambda x: x[1:, ::2],
    "dropout in eval mode": lambda x: nn.functional.dropout(x, training=False),
    "empty output": lambda x: x.repeat(0, 1),
    "tuple output": lambda x: (x.sin(), x.cos().sum(), x[0]),
    "tuple of views": lambda x: x.split(1),
    "complex output": lambda x: torch.fft.rfft(x),
}


@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_functions_pass_as_they_do_in_torch(name):
    x = X.clone().requires_grad_()
    fn = CORRECT[name]
    assert torch.autograd.gradcheck(fn, (x,), atol=1e-6, rtol=1e-4)
    report = check_function_gradients(fn, x)
    assert report.passed, str(report)
    assert report.comparisons[0].max_abs_diff < 1e-8
    assert torch.equal(x, X)  # the caller's tensor is left as it was


def test_an_empty_input_passes_with_an_empty_row():
    empty = torch.zeros(0, 3, dtype=F64, requires_grad=True)
    x = X.clone().requires_grad_()
    report = check_function_gradients(lambda a, b: torch.cat([a, b]).sin(), empty, x)
    assert report.passed
    assert [row.shape for row in report.comparisons] == [(0, 3), (2, 3)]


def _scaled_gradient(
    index: tuple[int, ...], factor: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A hook that multiplies one element of a gradient: a backward that is wrong there only."""

    def hook(grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad[index] *= factor
        return grad

    return hook


@pytest.mark.parametrize(
    "factor", [2.0, -1.0, 1.001, 0.0], ids=["scaled", "sign", "slight", "zero"]
)
def test_a_mutated_backward_is_named_by_input_and_element(factor):
    def fn(a, b):
        b = b.clone()
        b.register_hook(_scaled_gradient((1, 2), factor))
        return (a * b.exp(), (a @ b.T).sum())

    a, b = X.clone().requires_grad_(), (X / 2).requires_grad_()
    report = check_function_gradients(fn, a, b)
    assert not torch.autograd.gradcheck(fn, (a, b), atol=1e-6, rtol=1e-4, raise_exception=False)
    assert not report.passed
    assert report.failures == ["input 1"]
    row = report.comparisons[1]
    assert row.index == (1, 2)
    assert row.analytical == pytest.approx(factor * row.numerical, rel=1e-6)
    assert f"input 1[1, 2] (through output {row.output}{list(row.output_index)}): " in str(report)
