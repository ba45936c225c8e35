"""Tests for pttour.functional: torch.func transforms and per-sample gradients."""

from __future__ import annotations

import pytest
import torch
from conftest import cpu_and_cuda
from torch import nn
from torch.func import grad, jacfwd, jacrev, vmap

from pttour.functional import per_sample_gradients

F64 = torch.float64
# Forward-mode AD imports torch's JVP decompositions on first use; on recent torch that
# import calls the deprecated torch.jit.script, which warns once per process: a
# DeprecationWarning in 2.13, a FutureWarning in 2.14.1, each release in its own words. The
# filters name the categories and the module, never the wording: a deprecation that torch
# attributes to its own modules is about its internals, not about this code.
IGNORE_JIT_DEPRECATION = pytest.mark.filterwarnings(
    r"ignore::DeprecationWarning:torch\.", r"ignore::FutureWarning:torch\."
)


def per_sample_gradients_loop(model, loss_fn, inputs, targets) -> dict[str, torch.Tensor]:
    """The reference: one forward and backward per sample; zeros for a parameter not used."""
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    rows = []
    for i in range(len(inputs)):
        loss = loss_fn(model(inputs[i : i + 1]), targets[i : i + 1])
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        rows.append(
            [
                torch.zeros_like(p) if g is None else g
                for p, g in zip(params.values(), grads, strict=True)
            ]
        )
    return {
        name: torch.stack(column)
        for name, column in zip(params, zip(*rows, strict=True), strict=True)
    }


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


def test_grad_attributes_are_left_untouched() -> None:
    model = _mlp()
    per_sample_gradients(model, nn.MSELoss(), *_batch())
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


def test_an_unused_parameter_gets_zeros() -> None:
    model = _mlp()
    model.register_parameter("unused", nn.Parameter(torch.ones(2, dtype=F64)))
    inputs, targets = _batch()
    slow = per_sample_gradients_loop(model, nn.MSELoss(), inputs, targets)
    fast = per_sample_gradients(model, nn.MSELoss(), inputs, targets)
    assert torch.equal(slow["unused"], torch.zeros(6, 2, dtype=F64))
    assert torch.equal(fast["unused"], torch.zeros(6, 2, dtype=F64))


# --- validation -------------------------------------------------------------------


def test_mismatched_batch_sizes_raise_naming_both() -> None:
    inputs, targets = _batch()
    with pytest.raises(ValueError, match=r"^targets has batch size 5 .* inputs has 6"):
        per_sample_gradients(_mlp(), nn.MSELoss(), inputs, targets[:5])


def test_empty_and_zero_dimensional_batches_raise() -> None:
    inputs, targets = _batch()
    with pytest.raises(ValueError, match="empty"):
        per_sample_gradients(_mlp(), nn.MSELoss(), inputs[:0], targets[:0])
    with pytest.raises(ValueError, match="0-dimensional"):
        per_sample_gradients(_mlp(), nn.MSELoss(), inputs, torch.tensor(1.0, dtype=F64))


def test_non_scalar_loss_raises() -> None:
    with pytest.raises(ValueError, match="reduction="):
        per_sample_gradients(_mlp(), nn.MSELoss(reduction="none"), *_batch())


def test_training_batch_norm_raises() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    with pytest.raises(ValueError, match=r"'1' is BatchNorm1d in training mode.*model\.eval\(\)"):
        per_sample_gradients(model, nn.MSELoss(), *_batch())


def test_model_without_trainable_parameters_raises() -> None:
    model = _mlp().requires_grad_(False)
    with pytest.raises(ValueError, match="requires_grad_"):
        per_sample_gradients(model, nn.MSELoss(), *_batch())


def test_training_dropout_is_refused() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match=r"'1' is Dropout in training mode.*model\.eval\(\)"):
        per_sample_gradients(model, nn.MSELoss(), *_batch())
    model.eval()
    assert per_sample_gradients(model, nn.MSELoss(), *_batch())["0.weight"].shape == (6, 2, 3)


@pytest.mark.parametrize(
    ("change", "name"),
    [({"model": None}, "model"), ({"loss_fn": None}, "loss_fn"), ({"inputs": [1.0]}, "inputs")],
)
def test_wrong_types_name_the_argument(change, name) -> None:
    inputs, targets = _batch()
    arguments = {"model": _mlp(), "loss_fn": nn.MSELoss(), "inputs": inputs, "targets": targets}
    with pytest.raises(TypeError, match=f"^{name} must be"):
        per_sample_gradients(**(arguments | change))


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
