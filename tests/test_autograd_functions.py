"""Tests for pttour.autograd_functions: a custom Function, its wrong twin, and the checks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from conftest import cpu_and_cuda
from torch.func import grad, jacfwd, jacrev, vmap

from pttour.autograd_functions import (
    GradientVerification,
    SoftplusFunction,
    WrongBackwardSoftplus,
    softplus,
    verify_gradients,
)
from pttour.gradcheck import check_function_gradients

F64 = torch.float64
# Forward-mode AD imports torch's JVP decompositions on first use; on recent torch that
# import calls the deprecated torch.jit.script, which warns once per process: a
# DeprecationWarning in 2.13, a FutureWarning in 2.14.1, each release in its own words. The
# filters name the categories and the module, never the wording: a deprecation that torch
# attributes to its own modules is about its internals, not about this code.
IGNORE_JIT_DEPRECATION = pytest.mark.filterwarnings(
    r"ignore::DeprecationWarning:torch\.", r"ignore::FutureWarning:torch\."
)


def _points(device: str = "cpu") -> torch.Tensor:
    """A few float64 points covering both tails and zero, requiring grad."""
    return torch.tensor([-4.0, -1.5, 0.0, 0.7, 3.0], dtype=F64, device=device, requires_grad=True)


class _DetachedBackwardSoftplus(SoftplusFunction):
    """Softplus whose backward is right but detached, so double backward gives zero."""

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x.detach())


# --- the forward pass -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_softplus_forward_matches_torch(dtype: torch.dtype) -> None:
    x = torch.linspace(-30, 30, 121, dtype=dtype)
    result = softplus(x)
    assert result.dtype == dtype
    assert result.shape == x.shape
    torch.testing.assert_close(result, torch.nn.functional.softplus(x))


def test_softplus_forward_matches_logaddexp_exactly_in_the_tails() -> None:
    x = torch.tensor([-800.0, -50.0, 25.0, 800.0], dtype=F64)
    # log(1 + exp(x)) == logaddexp(x, 0), computed by an independent torch kernel.
    torch.testing.assert_close(softplus(x), torch.logaddexp(x, torch.zeros_like(x)))


def test_softplus_does_not_overflow_in_float32() -> None:
    x = torch.tensor([-1000.0, 100.0, 1000.0])
    naive = torch.log(1 + torch.exp(x))
    assert torch.isinf(naive[2])  # the formula softplus avoids
    result = softplus(x)
    assert torch.isfinite(result).all()
    assert result.tolist() == [0.0, 100.0, 1000.0]


@pytest.mark.parametrize("value", [[1.0, 2.0], torch.tensor([1, 2])], ids=["list", "int64"])
def test_softplus_refuses_non_floating_arguments(value: object) -> None:
    with pytest.raises(TypeError, match=r"^x must be a (torch\.Tensor|floating-point tensor), got"):
        softplus(value)  # type: ignore[arg-type]


# --- the backward pass ------------------------------------------------------------


def test_backward_is_sigmoid_and_double_backward_its_derivative() -> None:
    x = _points()
    (first,) = torch.autograd.grad(softplus(x).sum(), x, create_graph=True)
    sigmoid = torch.sigmoid(x.detach())
    torch.testing.assert_close(first.detach(), sigmoid)
    (second,) = torch.autograd.grad(first.sum(), x)
    torch.testing.assert_close(second, sigmoid * (1 - sigmoid))


def test_backward_multiplies_by_grad_output() -> None:
    x = _points()
    weights = torch.arange(1.0, 6.0, dtype=F64)
    (got,) = torch.autograd.grad((weights * softplus(x)).sum(), x)
    torch.testing.assert_close(got, weights * torch.sigmoid(x.detach()))


def test_torch_gradcheck_and_gradgradcheck_pass_for_the_correct_function() -> None:
    x = _points()
    assert torch.autograd.gradcheck(SoftplusFunction.apply, (x,))
    assert torch.autograd.gradgradcheck(SoftplusFunction.apply, (x,))


def test_torch_gradcheck_fails_for_the_wrong_function() -> None:
    x = _points()
    assert (
        torch.autograd.gradcheck(WrongBackwardSoftplus.apply, (x,), raise_exception=False) is False
    )


def test_wrong_function_hides_from_a_plain_sum() -> None:
    # Why the bug needs a real check: with all-ones grad_output the forgotten factor is 1.
    x = _points()
    (wrong,) = torch.autograd.grad(WrongBackwardSoftplus.apply(x).sum(), x)
    (right,) = torch.autograd.grad(softplus(x).sum(), x)
    torch.testing.assert_close(wrong, right)
    weights = torch.full((5,), 3.0, dtype=F64)
    (wrong,) = torch.autograd.grad((weights * WrongBackwardSoftplus.apply(x)).sum(), x)
    (right,) = torch.autograd.grad((weights * softplus(x)).sum(), x)
    torch.testing.assert_close(right, 3 * wrong)


def test_wrong_function_has_the_same_forward() -> None:
    x = _points().detach()
    assert torch.equal(WrongBackwardSoftplus.apply(x), SoftplusFunction.apply(x))


# --- verify_gradients -------------------------------------------------------------


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_verify_gradients_passes_the_correct_function(device: str) -> None:
    result = verify_gradients(softplus, _points(device))
    assert isinstance(result, GradientVerification)
    assert (result.first_order_ok, result.second_order_ok, result.passed) == (True, True, True)
    assert "gradcheck passed" in result.message
    assert "gradgradcheck passed" in result.message


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_verify_gradients_reports_the_wrong_function(device: str) -> None:
    result = verify_gradients(WrongBackwardSoftplus.apply, _points(device))
    assert result.first_order_ok is False
    assert result.second_order_ok is None
    assert result.passed is False
    assert "gradcheck failed" in result.message
    assert "Jacobian mismatch for output 0 with respect to input 0" in result.message
    assert "gradgradcheck skipped" in result.message


def test_verify_gradients_catches_a_non_differentiable_backward() -> None:
    result = verify_gradients(_DetachedBackwardSoftplus.apply, _points())
    assert result.first_order_ok is True
    assert result.second_order_ok is False
    assert result.passed is False
    assert "gradgradcheck failed" in result.message
    assert ".detach()" in result.message


def test_verify_gradients_can_skip_second_order() -> None:
    result = verify_gradients(_DetachedBackwardSoftplus.apply, _points(), check_second_order=False)
    assert (result.first_order_ok, result.second_order_ok, result.passed) == (True, None, True)
    assert "check_second_order=False" in result.message


def test_verify_gradients_passes_constant_arguments_through() -> None:
    x = _points()
    scale = torch.linspace(0.5, 2.5, 5, dtype=F64)  # no requires_grad: a constant

    def scaled(t: torch.Tensor, s: torch.Tensor, shift: float) -> torch.Tensor:
        return softplus(t * s + shift)

    assert verify_gradients(scaled, x, scale, 0.25).passed


def test_verify_gradients_refuses_float32_naming_the_input() -> None:
    x = _points()
    y = torch.ones(5, requires_grad=True)  # float32
    with pytest.raises(TypeError, match=r"input 1 has dtype torch\.float32.*\.double\(\)"):
        verify_gradients(torch.mul, x, y)


def test_verify_gradients_refuses_inputs_without_requires_grad() -> None:
    with pytest.raises(ValueError, match="requires_grad=True"):
        verify_gradients(softplus, _points().detach())


@pytest.mark.parametrize("setting", [{"atol": -1.0}, {"rtol": float("nan")}, {"eps": 0.0}])
def test_verify_gradients_refuses_bad_settings(setting: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(setting))):
        verify_gradients(softplus, _points(), **setting)


# --- pttour.check_function_gradients ----------------------------------------------


def test_check_function_gradients_agrees() -> None:
    x = _points()
    assert check_function_gradients(softplus, x).passed
    report = check_function_gradients(WrongBackwardSoftplus.apply, x)
    assert not report.passed
    assert report.failures == ["input 0"]
    assert "input 0" in str(report)


# --- torch.func -------------------------------------------------------------------


def test_torch_func_grad_and_double_grad() -> None:
    x = _points().detach()
    first = vmap(grad(softplus))(x)
    second = vmap(grad(grad(softplus)))(x)
    torch.testing.assert_close(first, torch.sigmoid(x))
    torch.testing.assert_close(second, torch.sigmoid(x) * (1 - torch.sigmoid(x)))


def test_vmap_matches_a_loop() -> None:
    rows = torch.linspace(-2, 2, 12, dtype=F64).view(3, 4)
    batched = vmap(softplus)(rows)
    looped = torch.stack([softplus(row) for row in rows])
    torch.testing.assert_close(batched, looped)


@IGNORE_JIT_DEPRECATION
def test_jacrev_matches_jacfwd_through_the_custom_jvp() -> None:
    x = _points().detach()
    reverse = jacrev(softplus)(x)
    forward = jacfwd(softplus)(x)
    torch.testing.assert_close(reverse, forward)
    torch.testing.assert_close(reverse, torch.diag(torch.sigmoid(x)))
