"""Tests for pttour.training: one correct optimisation step and the fit loop."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from conftest import cpu_and_cuda, linear_data
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pttour.training import History, check_same_shape, fit, train_step


def _zeroed_linear(in_features: int = 2, device: str = "cpu") -> nn.Linear:
    """A linear model starting from all-zero weights, so results do not depend on the RNG."""
    model = nn.Linear(in_features, 1).to(device)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    return model


# --- fit recovers the article's linear relation ------------------------------------------


def test_fit_recovers_y_equals_3x1_plus_x2_plus_4():
    torch.manual_seed(0)
    X, y = linear_data(256)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    history = fit(model, loader, nn.MSELoss(), optimizer, epochs=30)

    weights = model.weight.detach().flatten().tolist()
    assert weights == pytest.approx([3.0, 1.0], abs=1e-2)
    assert model.bias.item() == pytest.approx(4.0, abs=1e-2)
    assert len(history.epoch_losses) == 30
    assert history.final_loss < history.epoch_losses[0]
    assert history.final_loss == history.epoch_losses[-1]


def test_fit_weights_epoch_loss_by_batch_size():
    # 10 samples in batches of 4, 4 and 2; lr=0 keeps the model fixed so every
    # batch loss is known, and the epoch value must be the loss over all 10 samples.
    X, y = linear_data(10)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)

    history = fit(model, loader, nn.MSELoss(), optimizer, epochs=2)

    full_loss = nn.MSELoss()(torch.zeros_like(y), y).item()
    batch_losses = [(yb**2).mean().item() for _, yb in loader]
    unweighted = sum(batch_losses) / len(batch_losses)
    assert unweighted != pytest.approx(full_loss, rel=1e-6)  # the weighting matters here
    assert history.epoch_losses == pytest.approx([full_loss, full_loss], rel=1e-6)


# --- shapes: the article's (100, 1) output against a (100, 2) target ---------------------


def test_check_same_shape_names_both_shapes_and_the_broadcast():
    with pytest.raises(ValueError, match="broadcast") as info:
        check_same_shape(torch.zeros(100, 1), torch.zeros(100, 2))
    message = str(info.value)
    assert "(100, 1)" in message
    assert "(100, 2)" in message


def test_check_same_shape_accepts_equal_shapes_and_suggests_view_for_same_numel():
    check_same_shape(torch.zeros(100, 1), torch.zeros(100, 1))
    with pytest.raises(ValueError, match=r"target\.view\(100, 1\)"):
        check_same_shape(torch.zeros(100, 1), torch.zeros(100))


def test_check_same_shape_reports_shapes_that_cannot_broadcast():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 5\).*cannot even be broadcast"):
        check_same_shape(torch.zeros(3, 2), torch.zeros(4, 5))


def test_plain_mse_loss_only_warns_and_computes_a_broadcast_loss():
    output = torch.zeros(100, 1)
    target = torch.arange(200.0).view(100, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = nn.MSELoss()(output, target)
    # One warning, told by its category; erratum E11's test checks torch's words.
    assert [w.category for w in caught] == [UserWarning]
    # The (100, 1) output was compared with both target columns: a wrong but finite loss.
    assert loss.item() == pytest.approx((target**2).mean().item())


def test_train_step_rejects_mismatched_target_before_changing_anything():
    X = torch.rand(100, 2)
    model = nn.Linear(2, 1)
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"\(100, 1\).*\(100, 2\)"):
        train_step(model, X, X * 3 + 4, nn.MSELoss(), optimizer)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_train_step_allows_other_target_shapes_when_asked():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    inputs = torch.randn(8, 4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with pytest.raises(ValueError, match=r"\(8, 3\).*\(8,\)"):
        train_step(model, inputs, labels, nn.CrossEntropyLoss(), optimizer)
    losses = [
        train_step(model, inputs, labels, nn.CrossEntropyLoss(), optimizer, check_shapes=False)
        for _ in range(10)
    ]
    assert losses[-1] < losses[0]


def test_train_step_rejects_a_loss_that_is_not_a_single_value():
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"shape \(8, 1\).*reduction"):
        train_step(model, X, y, nn.MSELoss(reduction="none"), optimizer)


# --- what backward() and step() do ---------------------------------------------------------


def test_gradients_do_not_accumulate_between_train_steps():
    X, y = linear_data(32)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_step(model, X, y, nn.MSELoss(), optimizer)
    first_grad = model.weight.grad.clone()

    # The gradient the second step should use: a fresh one at the current parameters.
    reference = copy.deepcopy(model)
    reference.zero_grad(set_to_none=True)
    nn.MSELoss()(reference(X), y).backward()
    expected_grad = reference.weight.grad
    expected_weight = model.weight.detach() - 0.1 * expected_grad

    train_step(model, X, y, nn.MSELoss(), optimizer)

    assert torch.allclose(model.weight.grad, expected_grad)
    assert not torch.allclose(model.weight.grad, first_grad + expected_grad)
    assert torch.allclose(model.weight.detach(), expected_weight)


def test_backward_fills_parameter_gradients_and_only_step_changes_parameters():
    X, y = linear_data(100)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()

    output = model(X)
    loss = nn.MSELoss()(output, y)
    loss.backward()

    assert torch.equal(model.weight.detach(), before)
    # The gradient is d(loss)/d(weight): the weight's shape, not the output's (100, 1).
    assert model.weight.grad.shape == model.weight.shape == (1, 2)
    analytic = 2 / len(X) * (output.detach() - y).T @ X
    assert torch.allclose(model.weight.grad, analytic, atol=1e-6)

    optimizer.step()

    assert not torch.equal(model.weight.detach(), before)
    assert torch.allclose(model.weight.detach(), before - 0.1 * analytic, atol=1e-6)


# --- fit's arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [0, -1])
def test_fit_rejects_fewer_than_one_epoch(epochs):
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=f"epochs must be an int >= 1, got {epochs}"):
        fit(model, DataLoader(TensorDataset(X, y)), nn.MSELoss(), optimizer, epochs=epochs)
    assert torch.equal(model.weight.detach(), torch.zeros(1, 2))


@pytest.mark.parametrize("epochs", [1.5, "3", True])
def test_fit_rejects_non_integer_epochs(epochs):
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        fit(model, DataLoader(TensorDataset(X, y)), nn.MSELoss(), optimizer, epochs=epochs)


def test_fit_rejects_a_device_the_model_is_not_on():
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"device='cuda'.*model\.to\(device\)"):
        fit(model, [(X, y)], nn.MSELoss(), optimizer, epochs=1, device="cuda")


def test_fit_rejects_an_empty_loader_and_batches_that_are_not_pairs():
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no samples"):
        fit(model, [], nn.MSELoss(), optimizer, epochs=1)
    with pytest.raises(ValueError, match="batch of 3 items"):
        fit(model, [(X, y, y)], nn.MSELoss(), optimizer, epochs=1)


def test_fit_puts_the_model_in_training_mode():
    X, y = linear_data(8)
    model = _zeroed_linear().eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, [(X, y)], nn.MSELoss(), optimizer, epochs=1)
    assert model.training


def test_history_final_loss_needs_an_epoch():
    assert History([3.0, 2.0]).final_loss == 2.0
    with pytest.raises(ValueError, match="no epochs"):
        _ = History([]).final_loss


# --- mixed precision ---------------------------------------------------------------------------


def _record_output_dtypes(model: nn.Module) -> list[torch.dtype]:
    """Attach a hook that records the dtype of every output the model returns."""
    dtypes: list[torch.dtype] = []
    model.register_forward_hook(lambda _module, _args, output: dtypes.append(output.dtype))
    return dtypes


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_bfloat16_autocast_lowers_the_loss(device):
    X, y = (t.to(device) for t in linear_data(128))
    model = _zeroed_linear(device=device)
    dtypes = _record_output_dtypes(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)

    losses = [
        train_step(model, X, y, nn.MSELoss(), optimizer, autocast_dtype=torch.bfloat16)
        for _ in range(20)
    ]

    assert set(dtypes) == {torch.bfloat16}  # autocast was really on
    assert model.weight.dtype == torch.float32  # the master weights stay in float32
    assert losses[-1] < losses[0] / 100


@pytest.mark.cuda  # float16 autocast is refused on the CPU (see the test below)
@pytest.mark.parametrize("device", ["cuda"])
def test_float16_autocast_with_grad_scaler_lowers_the_loss(device):
    X, y = (t.to(device) for t in linear_data(128))
    model = _zeroed_linear(device=device)
    dtypes = _record_output_dtypes(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scaler = torch.amp.GradScaler(device)

    losses = [
        train_step(
            model, X, y, nn.MSELoss(), optimizer, scaler=scaler, autocast_dtype=torch.float16
        )
        for _ in range(20)
    ]

    assert set(dtypes) == {torch.float16}
    # The scaler skips the first steps, whose scaled float16 gradients overflow, and
    # lowers its scale until they fit; training then proceeds as usual.
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] / 100


def test_train_step_rejects_unusable_mixed_precision_settings():
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"autocast_dtype=torch\.float64"):
        train_step(model, X, y, nn.MSELoss(), optimizer, autocast_dtype=torch.float64)
    with pytest.raises(TypeError, match="GradScaler"):
        train_step(model, X, y, nn.MSELoss(), optimizer, scaler=object())
    assert torch.equal(model.weight.detach(), torch.zeros(1, 2))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_fit_moves_batches_to_the_model_device(device):
    X, y = linear_data(100, weights=(2.0,), bias=-1.0)  # the loader yields CPU tensors
    model = _zeroed_linear(in_features=1, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(TensorDataset(X, y), batch_size=25)

    history = fit(model, loader, nn.MSELoss(), optimizer, epochs=40, device=device)

    assert model.weight.device.type == device
    assert history.final_loss < 1e-4
    assert model.weight.item() == pytest.approx(2.0, abs=1e-2)
    assert model.bias.item() == pytest.approx(-1.0, abs=1e-2)


# --- misuse: refused before anything changes -------------------------------------------------


def test_train_step_refuses_float16_autocast_on_the_cpu():
    # As pttour.autocast_dtypes does: CPUs have no fast float16, and old torch only warned.
    X, y = linear_data(8)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"autocast_dtype=torch\.float16 on device_type='cpu'"):
        train_step(model, X, y, nn.MSELoss(), optimizer, autocast_dtype=torch.float16)
    with pytest.raises(ValueError, match=r"autocast_dtype=torch\.float16"):
        fit(model, [(X, y)], nn.MSELoss(), optimizer, epochs=1, autocast_dtype=torch.float16)
    assert torch.equal(model.weight.detach(), torch.zeros(1, 2))


def test_train_step_refuses_an_optimizer_over_another_model():
    # Without the check every step changes nothing and returns the same loss forever.
    X, y = linear_data(8)
    model, other = _zeroed_linear(), _zeroed_linear()
    optimizer = torch.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="updates none of the model's parameters"):
        train_step(model, X, y, nn.MSELoss(), optimizer)
    copied = torch.optim.SGD(copy.deepcopy(model).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another model, or a copy"):
        fit(model, [(X, y)], nn.MSELoss(), copied, epochs=1)
    # Part of the model (fine-tuning one layer) is fine.
    partial = torch.optim.SGD([model.bias], lr=0.1)
    train_step(model, X, y, nn.MSELoss(), partial)
    assert model.bias.item() != 0.0
    assert torch.equal(model.weight.detach(), torch.zeros(1, 2))


def test_fit_refuses_a_loader_of_dicts():
    X, y = linear_data(4)
    model = _zeroed_linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"yields dicts with the keys \['inputs', 'targets'\]"):
        fit(model, [{"inputs": X, "targets": y}], nn.MSELoss(), optimizer, epochs=1)
    with pytest.raises(TypeError, match=r"batch\[0\] must be a torch\.Tensor, got 'a'"):
        fit(model, [("a", y)], nn.MSELoss(), optimizer, epochs=1)


@pytest.mark.parametrize(
    ("position", "name"),
    [(0, "model"), (1, "inputs"), (2, "targets"), (3, "loss_fn"), (4, "optimizer")],
)
@pytest.mark.parametrize("bad", [None, "text"])
def test_train_step_names_the_argument_of_the_wrong_type(position, name, bad):
    X, y = linear_data(4)
    model = _zeroed_linear()
    arguments = [model, X, y, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1)]
    arguments[position] = bad
    with pytest.raises(TypeError, match=f"^{name} must be"):
        train_step(*arguments)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"model": None}, "model"),
        ({"loader": None}, "loader"),
        ({"loss_fn": 3}, "loss_fn"),
        ({"optimizer": None}, "optimizer"),
        ({"epochs": None}, "epochs"),
        ({"device": 0}, "device"),
        ({"check_shapes": "no"}, "check_shapes"),
    ],
)
def test_fit_names_the_argument_of_the_wrong_type(change, name):
    X, y = linear_data(4)
    model = _zeroed_linear()
    arguments = {
        "model": model,
        "loader": [(X, y)],
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
        "epochs": 1,
    } | change
    with pytest.raises(TypeError, match=f"^{name} must be"):
        fit(**arguments)


def test_train_step_stops_on_a_nan_loss_before_changing_anything():
    X, y = linear_data(8)
    X[3, 1] = float("nan")
    model = nn.Linear(2, 1)
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match=r"^the loss is nan, so backward\(\)"):
        train_step(model, X, y, nn.MSELoss(), optimizer)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_fit_stops_on_a_non_finite_loss_naming_the_epoch_and_batch(bad):
    X, y = linear_data(12)
    y[9] = bad  # the third batch of four samples
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match=r"^fit stopped in epoch 1 of 3, at batch 3 "):
        fit(model, loader, nn.MSELoss(), optimizer, epochs=3)


def test_fit_names_the_epoch_where_a_diverging_loss_overflows():
    X, y = linear_data(64)
    loader = DataLoader(TensorDataset(X * 1e3, y), batch_size=64)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)  # far too large for inputs of 1e3
    with pytest.raises(FloatingPointError, match=r"^fit stopped in epoch (\d+) of 100, at batch 1"):
        fit(model, loader, nn.MSELoss(), optimizer, epochs=100)
