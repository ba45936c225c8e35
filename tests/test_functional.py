"""Tests for pttour.functional: torch.func transforms and per-sample gradients."""

from __future__ import annotations

import pytest
import torch
from conftest import cpu_and_cuda
from torch import nn
from torch.func import grad, jacfwd, jacrev, vmap

from pttour.functional import per_sample_gradients, per_sample_gradients_loop

F64 = torch.float64
# Forward-mode AD imports torch's JVP decompositions on first use; on recent torch that
# import calls the deprecated torch.jit.script, which warns once per process: a
# DeprecationWarning in 2.13, a FutureWarning in 2.14.1, each release in its own words. The
# filters name the categories and the module, never the wording: a deprecation that torch
# attributes to its own modules is about its internals, not about this code.
IGNORE_JIT_DEPRECATION = pytest.mark.filterwarnings(
    r"ignore::DeprecationWarning:torch\.", r"ignore::FutureWarning:torch\."
)
BOTH = pytest.mark.parametrize("compute", [per_sample_gradients, per_sample_gradients_loop])


def _mlp(device: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device, F64)


def _batch(device: str = "cpu", size: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(size, 3, generator=generator, dtype=F64)
    targets = torch.randn(size, 2, generator=generator, dtype=F64)
    return inputs.to(device), targets.to(device)


# --- torch.func basics ------------------------------------------------------------


def test_grad_of_sin_is_cos() -> None:
    x = torch.linspace(-3, 3, 13, dtype=F64)
    torch.testing.assert_close(vmap(grad(torch.sin))(x), torch.cos(x))
    assert grad(torch.sin)(torch.tensor(0.0, dtype=F64)).item() == 1.0


def test_vmap_matches_a_loop_for_a_batched_dot() -> None:
    generator = torch.Generator().manual_seed(2)
    a = torch.randn(7, 4, generator=generator, dtype=F64)
    b = torch.randn(7, 4, generator=generator, dtype=F64)
    batched = vmap(torch.dot)(a, b)
    looped = torch.stack([torch.dot(row_a, row_b) for row_a, row_b in zip(a, b, strict=True)])
    assert batched.shape == (7,)
    torch.testing.assert_close(batched, looped)


@IGNORE_JIT_DEPRECATION
def test_jacrev_equals_jacfwd_and_the_analytic_jacobian() -> None:
    def f(v: torch.Tensor) -> torch.Tensor:
        return torch.stack([v[0] * v[1], torch.sin(v[2]), v[0] ** 2])

    x = torch.tensor([0.5, -2.0, 1.0], dtype=F64)
    expected = torch.tensor(
        [[-2.0, 0.5, 0.0], [0.0, 0.0, torch.cos(torch.tensor(1.0, dtype=F64)).item()], [1.0, 0, 0]],
        dtype=F64,
    )
    torch.testing.assert_close(jacrev(f)(x), jacfwd(f)(x))
    torch.testing.assert_close(jacrev(f)(x), expected)


# --- per-sample gradients ---------------------------------------------------------


def test_per_sample_gradients_match_the_loop() -> None:
    model = _mlp()
    inputs, targets = _batch()
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    slow = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    params = dict(model.named_parameters())
    assert list(fast) == list(slow) == list(params)
    for name, param in params.items():
        assert fast[name].shape == (6, *param.shape)
        assert slow[name].shape == (6, *param.shape)
        torch.testing.assert_close(fast[name], slow[name], atol=1e-6, rtol=0)


def test_mean_of_per_sample_gradients_is_the_batch_gradient() -> None:
    model = _mlp()
    inputs, targets = _batch()
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    nn.MSELoss()(model(inputs), targets).backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(fast[name].mean(dim=0), param.grad)


def test_per_sample_gradients_of_a_linear_model_are_analytic() -> None:
    model = nn.Linear(3, 1, bias=False).double()
    inputs, _ = _batch()
    targets = torch.zeros(6, 1, dtype=F64)
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    # d/dw (w.x)^2 = 2 (w.x) x for each sample.
    expected = (2 * (inputs @ model.weight.detach().T) * inputs).unsqueeze(1)
    torch.testing.assert_close(fast["weight"], expected)


@BOTH
def test_grad_attributes_are_left_untouched(compute) -> None:
    model = _mlp()
    compute(model, nn.MSELoss(), *_batch())
    assert all(param.grad is None for param in model.parameters())


def test_frozen_parameters_are_skipped_and_buffers_used() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).double()
    model[0].weight.requires_grad_(False)
    with torch.no_grad():
        model[1].running_mean.fill_(0.3)
        model[1].running_var.fill_(2.0)
    model.eval()
    inputs, targets = _batch()
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    slow = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    assert "0.weight" not in fast
    assert list(fast) == ["0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    for name in fast:
        torch.testing.assert_close(fast[name], slow[name], atol=1e-6, rtol=0)


def test_integer_targets_with_cross_entropy() -> None:
    model = _mlp()
    inputs, _ = _batch()
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    fast = per_sample_gradients(model, nn.CrossEntropyLoss(), inputs, labels)
    slow = per_sample_gradients_loop(model, nn.CrossEntropyLoss(), inputs, labels)
    for name in fast:
        torch.testing.assert_close(fast[name], slow[name], atol=1e-6, rtol=0)


def test_loop_gives_zeros_for_an_unused_parameter() -> None:
    model = _mlp()
    model.register_parameter("unused", nn.Parameter(torch.ones(2, dtype=F64)))
    inputs, targets = _batch()
    slow = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    assert torch.equal(slow["unused"], torch.zeros(6, 2, dtype=F64))
    assert torch.equal(fast["unused"], torch.zeros(6, 2, dtype=F64))


# --- validation -------------------------------------------------------------------


@BOTH
def test_mismatched_batch_sizes_raise_naming_both(compute) -> None:
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=r"batch size 6 .* batch size 5"):
        compute(_mlp(), nn.MSELoss(), inputs, targets[:5])


@BOTH
def test_empty_and_zero_dimensional_batches_raise(compute) -> None:
    inputs, targets = _batch()
    with pytest.raises(ValueError, match="empty"):
        compute(_mlp(), nn.MSELoss(), inputs[:0], targets[:0])
    with pytest.raises(ValueError, match="0-dimensional"):
        compute(_mlp(), nn.MSELoss(), inputs, torch.tensor(1.0, dtype=F64))


@BOTH
def test_non_scalar_loss_raises(compute) -> None:
    with pytest.raises(ValueError, match="reduction="):
        compute(_mlp(), nn.MSELoss(reduction="none"), *_batch())


@BOTH
def test_training_batch_norm_raises(compute) -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    with pytest.raises(ValueError, match=r"'1' is batch norm in training mode.*model\.eval\(\)"):
        compute(model, nn.MSELoss(), *_batch())


@BOTH
def test_model_without_trainable_parameters_raises(compute) -> None:
    model = _mlp().requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad_"):
        compute(model, nn.MSELoss(), *_batch())


def test_training_dropout_is_refused_by_the_batched_version() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match=r"dropout in training mode.*model\.eval\(\)"):
        per_sample_gradients(model, nn.MSELoss(), *_batch())
    model.eval()
    assert per_sample_gradients(model, nn.MSELoss(), *_batch())["0.weight"].shape == (6, 2, 3)


def test_inputs_on_another_device_raise() -> None:
    model = _mlp()
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=r"inputs are on meta .*inputs\.to\('cpu'\)"):
        per_sample_gradients(model, nn.MSELoss(), inputs.to("meta"), targets.to("meta"))


# --- GPU ---------------------------------------------------------------------------


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_per_sample_gradients_match_the_loop_on_device(device: str) -> None:
    model = _mlp(device)
    inputs, targets = _batch(device)
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    slow = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    for name, param in model.named_parameters():
        assert fast[name].device == param.device
        assert fast[name].shape == (6, *param.shape)
        torch.testing.assert_close(fast[name], slow[name], atol=1e-6, rtol=0)
