"""Tests for pttour.gradcheck: numerical against autograd gradients, per parameter."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import cpu_and_cuda
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from pttour.gradcheck import (
    GradcheckReport,
    GradientComparison,
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


class _SquareWrongBackward(torch.autograd.Function):
    """x * x whose backward forgets the factor x: a deliberate bug."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

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
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
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


def test_pass_criterion_is_atol_plus_rtol_times_largest_numerical_gradient():
    # max|auto - num| = 0.001 * max|w| and max|num| = 2 * max|w| for the projection w,
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


def test_non_scalar_outputs_use_a_projection_that_a_plain_sum_would_not_match():
    x = torch.tensor([0.1, 0.7, -0.3], dtype=F64, requires_grad=True)
    # Softmax sums to 1, so the gradient of the sum is zero and the bug is invisible...
    assert check_function_gradients(lambda t: _SoftmaxZeroBackward.apply(t).sum(), x).passed
    # ...but the fixed random projection exposes it.
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
    with pytest.raises(TypeError, match="floating-point"):
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
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == [name for name, _ in model.named_parameters()]
    assert rows["0.weight"].endswith("FAIL")
    assert rows["2.bias"].endswith("ok")
    assert "e-" in rows["2.bias"]  # scientific notation
    # Aligned: every row is as wide as the header up to its verdict column.
    assert len({line.rindex("  ") for line in lines[1:]}) == 1


def test_report_properties_and_frozen_rows():
    ok = GradientComparison("a", (2,), 1e-12, 1e-12, 1e-12, True)
    bad = GradientComparison("b", (2,), 1.0, 0.5, 0.5, False)
    assert GradcheckReport([ok], eps=1e-6, atol=1e-6, rtol=1e-4).passed
    assert GradcheckReport([ok, bad], eps=1e-6, atol=1e-6, rtol=1e-4).failures == ["b"]
    assert not GradcheckReport([], eps=1e-6, atol=1e-6, rtol=1e-4).passed
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.passed = False  # type: ignore[misc]
