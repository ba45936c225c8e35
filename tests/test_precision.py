"""Tests for pttour.precision: autocast dtypes per layer, AMP dtype choice, gradient scaler."""

from __future__ import annotations

import pytest
import torch
from conftest import linear_data
from torch import nn

from pttour.precision import autocast_dtypes, default_amp_dtype, make_grad_scaler
from pttour.training import fit, train_step

NO_CUDA_REASON = "this checks the error raised when no GPU is available, and one is"


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))


def test_bf16_autocast_lowers_linear_but_not_parameters():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    dtypes = autocast_dtypes(model, torch.tensor([[1, 2, 3]]))
    assert list(dtypes) == ["0", "1", "2", "3"]
    assert dtypes["1"] == dtypes["3"] == torch.bfloat16
    assert dtypes["0"] == torch.float32  # a lookup of float32 weights: no autocast rule
    assert dtypes["2"] == torch.bfloat16  # ReLU follows its input
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_float32_losses_stay_float32_on_cpu():
    """Losses are on autocast's float32 list on every device: the reader sees the contrast."""

    class WithLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(3, 1)
            self.loss = nn.MSELoss()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.linear(x)
            return self.loss(out, torch.zeros_like(out))

    dtypes = autocast_dtypes(WithLoss(), torch.randn(4, 3))
    assert dtypes == {"linear": torch.bfloat16, "loss": torch.float32}


def test_without_children_the_model_is_keyed_by_class_and_tuple_inputs_unpack():
    assert autocast_dtypes(nn.Linear(2, 2), torch.randn(3, 2)) == {"Linear": torch.bfloat16}

    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(2, 3)

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.linear(a) * b

    dtypes = autocast_dtypes(TwoInputs(), (torch.randn(4, 2), torch.randn(4, 3)))
    assert dtypes == {"linear": torch.bfloat16}


def test_inspection_changes_no_state_and_leaves_no_hook():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dtypes = autocast_dtypes(model, torch.randn(8, 3))
    assert dtypes["2"] == torch.bfloat16
    assert all(module.training for module in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch-norm stats untouched
    assert all(not module._forward_hooks for module in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_hooks_are_removed_and_mode_restored_when_the_forward_fails():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1))  # the second layer cannot fit
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        autocast_dtypes(model, torch.randn(2, 3))
    assert all(not module._forward_hooks for module in model.modules())
    assert model.training


def test_fit_with_bf16_autocast_lowers_the_loss_and_keeps_float32_weights():
    torch.manual_seed(0)
    X, y = linear_data(256)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32)
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = make_grad_scaler("cpu", torch.bfloat16)  # disabled: a no-op in train_step
    history = fit(
        model,
        loader,
        nn.MSELoss(),
        optimizer,
        epochs=15,
        scaler=scaler,
        autocast_dtype=torch.bfloat16,
    )
    assert history.final_loss < 0.05 * history.epoch_losses[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(p.grad.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dtype": torch.float32}, "not a reduced precision"),
        ({"dtype": torch.float16}, "use dtype=torch.bfloat16 on the CPU"),
        ({"device_type": "mps"}, "device_type='mps' is not supported"),
        ({"device_type": "cuda:0"}, "device_type='cuda:0' is not supported"),
    ],
)
def test_autocast_dtypes_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        autocast_dtypes(nn.Linear(2, 1), torch.randn(1, 2), **kwargs)


def test_autocast_dtypes_rejects_data_on_another_device_type():
    with pytest.raises(ValueError, match=r"inputs are on meta but device_type='cpu'"):
        autocast_dtypes(nn.Linear(2, 1), torch.empty(1, 2, device="meta"))
    with pytest.raises(ValueError, match=r"model's parameters are on meta"):
        autocast_dtypes(nn.Linear(2, 1, device="meta"), torch.randn(1, 2))


def test_autocast_dtypes_rejects_a_non_module():
    with pytest.raises(TypeError, match=r"^model must be a torch\.nn\.Module, got <function"):
        autocast_dtypes(lambda x: x, torch.randn(1, 2))


@pytest.mark.skipif(torch.cuda.is_available(), reason=NO_CUDA_REASON)
def test_cuda_without_a_gpu_is_an_error_not_a_silent_no_op():
    with pytest.raises(ValueError, match="is_available"):
        autocast_dtypes(nn.Linear(2, 1), torch.randn(1, 2), device_type="cuda")
    with pytest.raises(ValueError, match="is_available"):
        default_amp_dtype("cuda")
    with pytest.raises(ValueError, match="is_available"):
        make_grad_scaler("cuda", torch.float16)


def test_default_amp_dtype_on_cpu_is_bfloat16():
    assert default_amp_dtype("cpu") == torch.bfloat16
    assert default_amp_dtype(torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError, match="'mps' is not supported"):
        default_amp_dtype("mps")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_scaler_is_disabled_on_cpu(dtype):
    scaler = make_grad_scaler("cpu", dtype)
    assert isinstance(scaler, torch.amp.GradScaler)
    assert not scaler.is_enabled()
    loss = torch.tensor(2.0)
    assert scaler.scale(loss) is loss  # disabled: no scaling at all


@pytest.mark.parametrize(
    ("device", "dtype", "match"),
    [
        ("cpu", torch.float16, "use dtype=torch.bfloat16 on the CPU"),
        ("cpu", torch.int8, "not a training precision"),
        ("cpu", torch.float64, "not a training precision"),
        ("mps", torch.bfloat16, "device='mps' is not supported"),
    ],
)
def test_make_grad_scaler_rejects_bad_settings(device, dtype, match):
    with pytest.raises(ValueError, match=match):
        make_grad_scaler(device, dtype)


# ----------------------------------------------------------------------------- CUDA


@pytest.mark.cuda
def test_cuda_fp16_autocast_lowers_linear_and_keeps_layer_norm_float32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2)).cuda()
    dtypes = autocast_dtypes(
        model, torch.randn(3, 4, device="cuda"), device_type="cuda", dtype=torch.float16
    )
    assert dtypes == {"0": torch.float16, "1": torch.float32, "2": torch.float16}
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.cuda
def test_cuda_default_dtype_and_scaler_agree():
    dtype = default_amp_dtype("cuda")
    native_bf16 = torch.cuda.get_device_capability() >= (8, 0)
    if torch.version.hip is None:
        assert dtype == (torch.bfloat16 if native_bf16 else torch.float16)
    assert make_grad_scaler("cuda", torch.float16).is_enabled()
    assert not make_grad_scaler("cuda", torch.bfloat16).is_enabled()
    assert make_grad_scaler("cuda", dtype).is_enabled() == (dtype == torch.float16)


@pytest.mark.cuda
def test_cuda_fp16_with_grad_scaler_lowers_the_loss():
    torch.manual_seed(0)
    X, y = (t.cuda() for t in linear_data(256))
    model = _mlp().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = make_grad_scaler("cuda", torch.float16)
    assert scaler.is_enabled()
    losses = [
        train_step(
            model, X, y, nn.MSELoss(), optimizer, scaler=scaler, autocast_dtype=torch.float16
        )
        for _ in range(100)
    ]
    assert losses[-1] < 0.05 * losses[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert scaler.get_scale() > 1.0  # the loss really was scaled


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: default_amp_dtype("gpu"), ValueError, r"^device='gpu' is not a device name"),
        (lambda: default_amp_dtype(0), TypeError, r"^device must be a str or a torch\.device"),
        (lambda: make_grad_scaler("cuda:-1", torch.float16), ValueError, r"^device='cuda:-1'"),
        (lambda: autocast_dtypes(nn.Linear(2, 2), None), TypeError, r"^inputs must be a tensor"),
        (lambda: autocast_dtypes(nn.Linear(2, 2), [1, 2]), TypeError, r"^inputs must be a tensor"),
    ],
)
def test_wrong_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
