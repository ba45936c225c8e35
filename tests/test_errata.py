"""Every documented mistake of the article still behaves as documented, and its fix works.

Each ``test_eNN_...`` reproduces erratum ``ENN`` with a minimal call on the installed
torch and then checks the correction. When a PyTorch release changes one of these
behaviours, the failure message names the erratum that is out of date, e.g.
``Erratum E07 is out of date: ...``.

The errata themselves are data, ``docs/_data/errata.toml``, read here through the loader that
renders the errata page (``docs/_ext/pttour_errata.py``). This module imports only the standard
library, pytest, torch and that loader at top level (NumPy, packaging, docutils and, on Python
3.10, tomli are imported inside the tests that need them), so the CUDA-marked tests can run on a
machine with nothing else installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import io
import math
import multiprocessing
import os
import pickle
import random
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
import pttour_errata

# ---------------------------------------------------------------------------------------
# Helpers: every failure message says which erratum no longer matches the installed torch.


def outdated(eid: str, what: str) -> str:
    """The assertion message for erratum ``eid`` whose documented behaviour changed."""
    return f"Erratum {eid} is out of date (torch {torch.__version__}): {what}"


def fix_fails(eid: str) -> str:
    """The assertion message for the correction of erratum ``eid`` that stopped working."""
    return f"The fix given in erratum {eid} no longer works (torch {torch.__version__})"


@contextmanager
def still_raises(eid: str, exc_type: type[BaseException], fragment: str) -> Iterator[None]:
    """Expect ``exc_type`` with ``fragment`` in its message; otherwise fail naming ``eid``."""
    try:
        yield
    except exc_type as err:
        raised = err
    except Exception as err:  # noqa: BLE001 - any other exception means the erratum changed
        pytest.fail(outdated(eid, f"raises {type(err).__name__}, not {exc_type.__name__}: {err}"))
    else:
        pytest.fail(outdated(eid, f"no {exc_type.__name__} is raised any more"))
    assert fragment in str(raised), outdated(
        eid, f"the {exc_type.__name__} no longer says {fragment!r}; it says: {raised}"
    )


@contextmanager
def still_warns(eid: str, category: type[Warning], fragment: str) -> Iterator[None]:
    """Expect a ``category`` warning containing ``fragment``; otherwise fail naming ``eid``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    messages = [str(w.message) for w in caught if issubclass(w.category, category)]
    assert any(fragment in m for m in messages), outdated(
        eid, f"no {category.__name__} containing {fragment!r}; warnings seen: {messages}"
    )


@contextmanager
def no_warnings(eid: str) -> Iterator[None]:
    """The corrected code must run without any warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert not caught, f"The fix of erratum {eid} warns: {[str(w.message) for w in caught]}"


def _linear(weight: list[float], bias: float, dtype: torch.dtype = torch.float64) -> nn.Linear:
    """A 2-to-1 linear layer with fixed parameters, so results are deterministic."""
    layer = nn.Linear(2, 1).to(dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight], dtype=dtype))
        layer.bias.fill_(bias)
    return layer


def _xy(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed float64 inputs of shape (n, 2) and targets of shape (n, 1)."""
    x = torch.linspace(-1.0, 1.0, 2 * n, dtype=torch.float64).reshape(n, 2)
    y = x @ torch.tensor([[3.0], [2.0]], dtype=torch.float64) + 4.0
    return x, y


def _central_difference(
    loss_of: Callable[[], torch.Tensor], param: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """d(loss)/d(param) by central differences, one number per element of ``param``."""
    grad = torch.zeros_like(param)
    with torch.no_grad():
        flat, out = param.view(-1), grad.view(-1)
        for k in range(flat.numel()):
            original = flat[k].item()
            flat[k] = original + eps
            up = loss_of().item()
            flat[k] = original - eps
            down = loss_of().item()
            flat[k] = original
            out[k] = (up - down) / (2 * eps)
    return grad


# ---------------------------------------------------------------------------------------
# §2 What PyTorch is


def test_e02_only_floating_point_leaves_get_gradients():
    with still_raises("E02", RuntimeError, "only Tensors of floating point"):
        torch.tensor([1, 2]).requires_grad_()

    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    middle = leaf * 3
    middle.sum().backward()
    with still_warns("E02", UserWarning, "not a leaf Tensor"):
        middle_grad = middle.grad
    assert middle_grad is None, outdated("E02", "an intermediate result now keeps a .grad")

    # Fix: retain_grad() on the intermediate result, a float leaf for the rest.
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    middle = leaf * 3
    middle.retain_grad()
    middle.sum().backward()
    assert middle.grad.tolist() == [1.0, 1.0], fix_fails("E02")
    assert leaf.grad.tolist() == [3.0, 3.0], fix_fails("E02")


# ---------------------------------------------------------------------------------------
# §3 Setting up the environment


def test_e03_torch_does_not_support_python_37():
    specifiers = pytest.importorskip("packaging.specifiers", reason="needs packaging")
    requires = importlib.metadata.metadata("torch")["Requires-Python"]
    assert requires, outdated("E03", "torch no longer declares Requires-Python")
    supported = specifiers.SpecifierSet(requires)
    assert "3.7" not in supported, outdated("E03", f"torch supports Python 3.7 again: {requires}")
    # Fix: the interpreter running these tests is one that torch supports.
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in supported, fix_fails("E03")


def test_e05_cpu_build_is_a_separate_wheel_without_nvidia_packages():
    if torch.version.cuda is not None:
        pytest.skip(f"torch {torch.__version__} is a CUDA build; this checks a CPU-only build")
    requirements = importlib.metadata.requires("torch") or []
    nvidia = [r for r in requirements if r.lower().startswith("nvidia")]
    assert not nvidia, outdated("E05", f"the CPU build now needs NVIDIA packages: {nvidia}")
    if sys.platform == "linux" and "+" in torch.__version__:
        assert torch.__version__.endswith("+cpu"), outdated(
            "E05", f"the Linux CPU wheel lost its '+cpu' suffix: {torch.__version__}"
        )
    # The check the fix adds: a CPU build runs, and says that it sees no GPU.
    assert torch.cuda.is_available() is False, fix_fails("E05")


# ---------------------------------------------------------------------------------------
# §4.1 Tensors


def test_e06_legacy_constructor_reads_ints_as_a_shape_and_casts_to_float():
    assert torch.Tensor(3).shape == (3,), outdated("E06", "torch.Tensor(3) is no longer a shape")
    assert torch.Tensor([[1, 2]]).dtype == torch.float32, outdated(
        "E06", "torch.Tensor no longer casts integers to float32"
    )
    # Fix: the factory keeps values and infers the dtype.
    assert torch.tensor(3).shape == (), fix_fails("E06")
    assert torch.tensor(3).item() == 3, fix_fails("E06")
    assert torch.tensor([[1, 2]]).dtype == torch.int64, fix_fails("E06")


def test_e07_legacy_constructor_rejects_dtype():
    with still_raises("E07", TypeError, "invalid combination of arguments"):
        torch.Tensor([[5, 6]], dtype=torch.int32)
    fixed = torch.tensor([[5, 6]], dtype=torch.int32)
    assert fixed.dtype == torch.int32, fix_fails("E07")
    assert fixed.tolist() == [[5, 6]], fix_fails("E07")


def test_e08_shape_lists_sizes_not_the_element_count():
    x = torch.zeros(2, 3, 4)
    assert tuple(x.shape) == (2, 3, 4), outdated("E08", f"shape is now {x.shape}")
    assert x.shape != (x.numel(),), outdated("E08", "shape now equals the element count")
    assert x.numel() == math.prod(x.shape) == 24, outdated(
        "E08", "numel() is no longer the product of the sizes"
    )
    assert x.ndim == len(x.shape) == 3, outdated("E08", "ndim is no longer the length of shape")


def test_e38_print_shows_the_str_of_a_device(capsys: pytest.CaptureFixture[str]):
    device = torch.tensor([1.0]).device
    print(device)
    assert capsys.readouterr().out == "cpu\n", outdated(
        "E38", "print(device) no longer shows 'cpu'"
    )
    assert repr(device) == "device(type='cpu')", outdated("E38", f"the repr is now {device!r}")
    # Fix: print the repr when that is what you want to see.
    print(repr(device))
    assert capsys.readouterr().out == "device(type='cpu')\n", fix_fails("E38")


def test_e39_printing_a_tensor_shows_no_shape_and_no_default_dtype():
    printed = str(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    for hidden in ("Size", "shape", "dtype"):
        assert hidden not in printed, outdated("E39", f"print(x) now shows {hidden!r}: {printed}")
    assert "dtype=torch.int32" in str(torch.tensor([[1, 2]], dtype=torch.int32)), outdated(
        "E39", "print(x) no longer names a dtype other than the default"
    )
    # Fix: the attributes say what the printout leaves out.
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert (x.shape, x.dtype) == ((2, 2), torch.float32), fix_fails("E39")


def test_e40_dtype_is_not_a_positional_argument():
    with still_raises("E40", TypeError, "invalid combination of arguments"):
        torch.Tensor([[1, 2]], torch.int32)
    with still_raises("E40", TypeError, "positional argument"):
        torch.tensor([[1, 2]], torch.int32)
    # Fix: the factory with dtype= by keyword.
    fixed = torch.tensor([[1, 2]], dtype=torch.int32)
    assert (fixed.dtype, fixed.tolist()) == (torch.int32, [[1, 2]]), fix_fails("E40")


# ---------------------------------------------------------------------------------------
# §4.2 Autograd


def test_e10_backward_fills_parameter_gradients_only():
    model = _linear([0.5, -2.0], 0.25)
    x, y = _xy()
    output = model(x)
    loss = nn.functional.mse_loss(output, y)
    expected = torch.autograd.grad(loss, [model.weight, model.bias], retain_graph=True)
    loss.backward()

    assert x.grad is None, outdated("E10", "backward() now gives the input data a gradient")
    with still_warns("E10", UserWarning, "not a leaf Tensor"):
        output_grad = output.grad
    assert output_grad is None, outdated("E10", "backward() now stores d(loss)/d(output)")
    torch.testing.assert_close(
        model.weight.grad,
        expected[0],
        msg=outdated("E10", "weight.grad is no longer d(loss)/d(weight)"),
    )
    torch.testing.assert_close(
        model.bias.grad, expected[1], msg=outdated("E10", "bias.grad is no longer d(loss)/d(bias)")
    )

    # Fix: ask for the input gradient explicitly.
    x.requires_grad_()
    nn.functional.mse_loss(model(x), y).backward()
    assert x.grad is not None, fix_fails("E10")
    assert x.grad.shape == x.shape, fix_fails("E10")


def test_e11_mse_loss_broadcasts_a_target_of_another_shape():
    model = _linear([0.5, -2.0], 0.25)
    x, _ = _xy(4)
    wrong_target = x * 3 + 4  # shape (4, 2) against an output of shape (4, 1)
    output = model(x)
    with still_warns("E11", UserWarning, "different to the input size"):
        loss = nn.functional.mse_loss(output, wrong_target)
    broadcast = ((output.expand(4, 2) - wrong_target) ** 2).mean()
    torch.testing.assert_close(loss, broadcast, msg=outdated("E11", "MSELoss stopped broadcasting"))

    # Fix: one target column, the output's shape; no warning.
    right_target = x @ torch.tensor([[3.0], [1.0]], dtype=torch.float64) + 4
    assert right_target.shape == output.shape, fix_fails("E11")
    with no_warnings("E11"):
        nn.functional.mse_loss(output, right_target)


def test_e12_backward_accumulates_without_zero_grad():
    model = _linear([0.5, -2.0], 0.25)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _xy()
    nn.functional.mse_loss(model(x), y).backward()
    once = model.weight.grad.clone()
    nn.functional.mse_loss(model(x), y).backward()
    torch.testing.assert_close(
        model.weight.grad, 2 * once, msg=outdated("E12", "backward() no longer accumulates")
    )
    # Fix: clear, then a single backward gives the single gradient again.
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    torch.testing.assert_close(model.weight.grad, once, msg=fix_fails("E12"))


def test_e13_modules_and_tensors_default_to_the_cpu():
    assert nn.Linear(2, 1).weight.device.type == "cpu", outdated("E13", "modules left the CPU")
    assert torch.rand(2).device.type == "cpu", outdated("E13", "tensors left the CPU")
    # Parameters do not follow their inputs to another device ("meta" exists everywhere).
    with still_raises("E13", RuntimeError, "device"):
        nn.Linear(2, 1)(torch.rand(3, 2, device="meta"))
    # Fix: move the model and the data to one device.
    device = torch.device("meta")
    assert nn.Linear(2, 1).to(device)(torch.rand(3, 2).to(device)).device == device, fix_fails(
        "E13"
    )
    # The fix's way to pick the device names a usable one on any machine.
    picked = (
        torch.accelerator.current_accelerator()
        if torch.accelerator.is_available()
        else torch.device("cpu")
    )
    assert nn.Linear(2, 1).to(picked)(torch.rand(3, 2).to(picked)).device.type == picked.type, (
        fix_fails("E13")
    )


@pytest.mark.cuda
def test_e13_model_on_gpu_data_on_cpu_fails():
    model = nn.Linear(2, 1).to("cuda")
    with still_raises("E13", RuntimeError, "Expected all tensors to be on the same device"):
        model(torch.rand(3, 2))
    assert model(torch.rand(3, 2).to("cuda")).device.type == "cuda", fix_fails("E13")


def test_e44_a_full_batch_sgd_step_is_plain_gradient_descent():
    model = _linear([0.5, -2.0], 0.25)
    x, y = _xy(8)
    first, second = (
        torch.autograd.grad(nn.functional.mse_loss(model(x), y), model.weight)[0] for _ in range(2)
    )
    assert torch.equal(first, second), outdated("E44", "the full-batch gradient changed by itself")
    before = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
    torch.testing.assert_close(
        model.weight, before - 0.1 * first, msg=outdated("E44", "SGD no longer steps by -lr * grad")
    )
    # Fix: mini-batches from a shuffling loader give a different gradient at each step.
    loader = DataLoader(
        TensorDataset(x, y), batch_size=2, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    grads = [
        torch.autograd.grad(nn.functional.mse_loss(model(xb), yb), model.weight)[0]
        for xb, yb in loader
    ]
    assert len(grads) == 4, fix_fails("E44")
    assert not all(torch.equal(grads[0], g) for g in grads[1:]), fix_fails("E44")


def test_e45_one_step_does_not_reach_the_minimum():
    model = _linear([0.0, 0.0], 0.0)
    x, y = _xy(8)  # a plane: the minimum of the loss is 0
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step() -> float:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    start = step()
    after_one = nn.functional.mse_loss(model(x), y).item()
    assert after_one < start, outdated("E45", "one SGD step no longer lowers the loss")
    assert after_one > 0.5 * start, outdated("E45", "one step now gets near the minimum")
    # Fix: repeating the step brings the loss towards its minimum.
    for _ in range(5000):
        last = step()
    assert last < 1e-3 * start, fix_fails("E45")


# ---------------------------------------------------------------------------------------
# §4.3 Gradient checking


def test_e14_gradcheck_says_nothing_about_optima():
    x = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(torch.square, (x,)), outdated(
        "E14", "gradcheck now rejects a correct gradient away from the optimum"
    )
    (slope,) = torch.autograd.grad(torch.square(x).sum(), x)
    # The correct gradient points uphill, away from the minimum at 0.
    assert slope.item() == 6.0, outdated("E14", "the gradient of x squared at 3 is no longer 6")


class _SquareWithWrongBackward(torch.autograd.Function):
    """x squared whose backward returns 3x instead of 2x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x


def test_e15_gradcheck_returns_true_or_raises():
    from torch.autograd.gradcheck import GradcheckError

    x = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64, requires_grad=True)
    result = torch.autograd.gradcheck(torch.square, (x,))
    assert result is True, outdated("E15", f"gradcheck now returns {result!r}")
    with still_raises("E15", GradcheckError, "Jacobian mismatch"):
        torch.autograd.gradcheck(_SquareWithWrongBackward.apply, (x,))
    quiet = torch.autograd.gradcheck(_SquareWithWrongBackward.apply, (x,), raise_exception=False)
    assert quiet is False, outdated("E15", f"gradcheck now returns {quiet!r} on a mismatch")
    # The error class is not reachable through the function's dotted name.
    assert not hasattr(torch.autograd.gradcheck, "GradcheckError"), outdated(
        "E15", "torch.autograd.gradcheck.GradcheckError now resolves"
    )
    assert issubclass(GradcheckError, RuntimeError), outdated(
        "E15", "GradcheckError is no longer a RuntimeError"
    )


def test_e16_backward_leaves_parameters_unchanged():
    model = _linear([0.5, -2.0], 0.25)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _xy()
    before = [p.detach().clone() for p in model.parameters()]
    nn.functional.mse_loss(model(x), y).backward()
    for old, new in zip(before, model.parameters(), strict=True):
        assert torch.equal(old, new), outdated("E16", "backward() now changes the parameters")
        assert new.grad is not None, outdated(
            "E16", "backward() no longer fills the parameters' .grad"
        )
    # Fix: parameters change at optimizer.step().
    optimizer.step()
    assert not torch.equal(before[0], model.weight), fix_fails("E16")


def test_e17_double_tensor_type_depends_on_the_device():
    grad = torch.ones(2, dtype=torch.float64)
    assert isinstance(grad, torch.DoubleTensor), outdated(
        "E17", "a float64 CPU tensor is no longer a torch.DoubleTensor"
    )
    elsewhere = torch.ones(2, dtype=torch.float64, device="meta")
    assert not isinstance(elsewhere, torch.DoubleTensor), outdated(
        "E17", "torch.DoubleTensor now matches float64 tensors on any device"
    )
    assert elsewhere.type() == "torch.meta.DoubleTensor", outdated(
        "E17", "the legacy type of a float64 meta tensor changed"
    )
    # Fix: the dtype is the same on every device.
    assert grad.dtype == elsewhere.dtype == torch.float64, fix_fails("E17")


@pytest.mark.cuda
def test_e17_double_tensor_check_is_false_on_cuda():
    weight = torch.ones(2, dtype=torch.float64, device="cuda", requires_grad=True)
    (weight * weight).sum().backward()
    assert not isinstance(weight.grad, torch.DoubleTensor), outdated(
        "E17", "isinstance(cuda_grad, torch.DoubleTensor) is now True"
    )
    assert weight.grad.type() == "torch.cuda.DoubleTensor", outdated(
        "E17", "the legacy type of a float64 CUDA tensor changed"
    )
    assert weight.grad.dtype == torch.float64, fix_fails("E17")


def test_e18_a_missing_gradient_has_no_detach():
    model = _linear([0.5, -2.0], 0.25)
    model.weight.requires_grad_(False)
    x, y = _xy()
    nn.functional.mse_loss(model(x), y).backward()
    assert model.weight.grad is None, outdated("E18", "a frozen parameter now gets a gradient")
    with still_raises("E18", AttributeError, "has no attribute 'detach'"):
        model.weight.grad.detach()
    # Fix: skip parameters without a gradient.
    checked = [name for name, p in model.named_parameters() if p.grad is not None]
    assert checked == ["bias"], fix_fails("E18")


def test_e19_numerical_gradient_comes_from_the_loss_not_random_numbers():
    np = pytest.importorskip("numpy", reason="reproduces the NumPy random array")
    model = _linear([0.5, -2.0], 0.25)
    x, y = _xy()

    def loss() -> torch.Tensor:
        return nn.functional.mse_loss(model(x), y)

    loss().backward()
    random_array = np.random.default_rng(0).normal(size=tuple(model.weight.shape))
    assert not np.allclose(random_array, model.weight.grad.numpy()), outdated(
        "E19", "a random normal array matched the gradient"
    )
    # Fix: central differences of the torch loss, in float64, per element.
    numerical = _central_difference(loss, model.weight)
    torch.testing.assert_close(
        numerical, model.weight.grad, rtol=1e-6, atol=1e-8, msg=fix_fails("E19")
    )


def test_e20_shifting_the_inputs_is_not_a_parameter_derivative():
    model = _linear([0.5, -2.0], 0.25)
    x, y = _xy()
    eps = 1e-6

    def loss_at(inputs: torch.Tensor) -> float:
        return nn.functional.mse_loss(model(inputs), y).item()

    with torch.no_grad():
        per_index = [(loss_at(x + eps * i) - loss_at(x - eps * i)) / (2 * eps) for i in range(4)]
    x_leaf = x.clone().requires_grad_()
    nn.functional.mse_loss(model(x_leaf), y).backward()
    model.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()

    assert per_index[0] == 0.0, outdated("E20", f"index 0 now gives {per_index[0]}")
    for i in (2, 3):
        assert math.isclose(per_index[i], i * per_index[1], rel_tol=1e-6), outdated(
            "E20", "the values no longer grow linearly with the sample index"
        )
    # The value at index 1 is the derivative with respect to the inputs, along all-ones ...
    assert math.isclose(per_index[1], x_leaf.grad.sum().item(), rel_tol=1e-6), outdated(
        "E20", "the input shift no longer measures the input derivative"
    )
    # ... and matches none of the parameter derivatives.
    parameter_grads = [*model.weight.grad.flatten().tolist(), model.bias.grad.item()]
    assert not any(math.isclose(per_index[1], g, rel_tol=1e-3) for g in parameter_grads), outdated(
        "E20", "the input shift now matches a parameter derivative"
    )

    # Fix: perturb each parameter element.
    def loss() -> torch.Tensor:
        return nn.functional.mse_loss(model(x), y)

    torch.testing.assert_close(
        _central_difference(loss, model.bias),
        model.bias.grad,
        rtol=1e-6,
        atol=1e-8,
        msg=fix_fails("E20"),
    )


def test_e21_per_sample_numbers_do_not_fit_the_gradient_shapes():
    np = pytest.importorskip("numpy", reason="reproduces the NumPy comparison")
    weight_grad, bias_grad = np.zeros((1, 2)), np.zeros((1,))
    per_sample = [0.0] * 100
    with still_raises(
        "E21", ValueError, "could not be broadcast together with shapes (1,2) (100,)"
    ):
        np.abs(weight_grad - per_sample)
    silent = np.abs(bias_grad - per_sample)
    assert silent.shape == (100,), outdated("E21", f"the bias comparison now has {silent.shape}")

    # Fix: compare tensors of the parameter's shape; a shape mismatch fails loudly.
    torch.testing.assert_close(torch.zeros(1, 2), torch.zeros(1, 2), msg=fix_fails("E21"))
    with still_raises("E21", AssertionError, "shape"):
        torch.testing.assert_close(torch.zeros(100), torch.zeros(1, 2))


def test_e22_the_step_trades_truncation_for_round_off():
    def error(h: float) -> float:
        return abs((math.sin(1.0 + h) - math.sin(1.0 - h)) / (2 * h) - math.cos(1.0))

    assert error(1e-7) > error(1e-5), outdated("E22", "a smaller step no longer adds round-off")
    assert error(1e-11) > 100 * error(1e-5), outdated("E22", "tiny steps are now accurate")
    one = torch.tensor(1.0, dtype=torch.float32)
    h = 1e-7
    float32_estimate = (((one + h) ** 2 - (one - h) ** 2) / (2 * h)).item()
    assert abs(float32_estimate - 2.0) > 0.2, outdated(
        "E22", f"float32 with a step of 1e-7 now gives {float32_estimate}"
    )
    # The article's own setting, float64 with a step of 1e-7, is accurate.
    one64 = torch.tensor(1.0, dtype=torch.float64)
    float64_estimate = (((one64 + h) ** 2 - (one64 - h) ** 2) / (2 * h)).item()
    assert abs(float64_estimate - 2.0) < 1e-8, outdated(
        "E22", f"float64 with a step of 1e-7 now gives {float64_estimate}"
    )
    # Fix: float64 with gradcheck's default step.
    assert error(1e-6) < 1e-9, fix_fails("E22")


def test_e23_parameter_name_is_none():
    model = _linear([0.5, -2.0], 0.25)
    assert model.weight.name is None, outdated("E23", f"param.name is now {model.weight.name!r}")
    assert f"{model.bias.name} passed" == "None passed", outdated(
        "E23", "the report no longer reads 'None passed'"
    )
    # Fix: named_parameters() knows the names.
    assert [name for name, _ in model.named_parameters()] == ["weight", "bias"], fix_fails("E23")


def test_e41_gradcheck_has_two_positional_arguments_and_keyword_options():
    parameters = inspect.signature(torch.autograd.gradcheck).parameters.values()
    positional = [p.name for p in parameters if p.kind != p.KEYWORD_ONLY]
    keyword_only = {p.name for p in parameters if p.kind == p.KEYWORD_ONLY}
    assert positional == ["func", "inputs"], outdated("E41", f"positional now {positional}")
    assert len(keyword_only) > 10, outdated("E41", f"keyword-only now {sorted(keyword_only)}")
    assert {"eps", "atol", "rtol", "raise_exception"} <= keyword_only, outdated(
        "E41", f"the tolerance options changed: {sorted(keyword_only)}"
    )
    x = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float64)
    with still_raises("E41", ValueError, "at least one input tensor to require gradient"):
        torch.autograd.gradcheck(torch.square, (x,))
    x32 = x.float().requires_grad_()
    with still_warns("E41", UserWarning, "not a double precision"):
        passed = torch.autograd.gradcheck(lambda t: t**3, (x32,), raise_exception=False)
    assert passed is False, outdated("E41", "float32 inputs now pass gradcheck for x cubed")
    # Fix: float64 inputs that require grad, options by keyword.
    x.requires_grad_()
    assert torch.autograd.gradcheck(torch.square, (x,), eps=1e-6, atol=1e-5), fix_fails("E41")


def test_e46_the_loop_runs_over_the_parameters_of_one_layer():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(2, 1)

    net = Net()
    assert len(list(net.children())) == 1, outdated("E46", "Net now has several layers")
    assert len(list(net.parameters())) == 2, outdated("E46", "the loop no longer sees two items")
    # Fix: named_parameters() says what the loop checks.
    names = [name for name, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias"], fix_fails("E46")


# ---------------------------------------------------------------------------------------
# §4.4 DataLoader


class _FlippedDataset(Dataset):
    """Wraps a dataset and flips every sample: augmentation lives in the dataset."""

    def __init__(self, samples: torch.Tensor) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.flip(self.samples[index], dims=[0])


def test_e24_dataloader_has_no_augmentation_options():
    options = list(inspect.signature(DataLoader).parameters)
    augmenting = [
        name
        for name in options
        if any(word in name for word in ("transform", "augment", "crop", "flip", "rotat"))
    ]
    assert not augmenting, outdated("E24", f"DataLoader now has {augmenting}")
    assert {"batch_size", "shuffle", "num_workers", "collate_fn"} <= set(options), outdated(
        "E24", f"DataLoader lost one of its batching options: {options}"
    )
    # Fix: the dataset transforms, the loader batches.
    loader = DataLoader(_FlippedDataset(torch.tensor([[1.0, 2.0], [3.0, 4.0]])), batch_size=2)
    assert next(iter(loader)).tolist() == [[2.0, 1.0], [4.0, 3.0]], fix_fails("E24")
    # Augmentation that mixes samples: collate_fn receives all the samples of a batch.
    mixed = DataLoader(torch.arange(4.0), batch_size=4, collate_fn=lambda s: torch.stack(s).mean())
    assert next(iter(mixed)).item() == 1.5, fix_fails("E24")


def test_e25_two_samples_with_batch_size_two_make_one_batch():
    samples = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    loader = DataLoader(samples, batch_size=2, shuffle=False)
    batches = list(loader)
    assert len(loader) == len(batches) == 1, outdated(
        "E25", f"two samples in batches of two now make {len(batches)} batches"
    )
    assert batches[0].shape == (2, 2), outdated(
        "E25", "the single batch no longer holds both samples"
    )
    # Fix: batch_size=1 gives two batches.
    assert len(DataLoader(samples, batch_size=1)) == 2, fix_fails("E25")


def test_e26_integer_batches_do_not_fit_a_float_model():
    batch = next(iter(DataLoader([torch.tensor([1, 2]), torch.tensor([3, 4])], batch_size=2)))
    assert batch.dtype == torch.int64, outdated(
        "E26", "integer samples are no longer batched as int64"
    )
    model = nn.Linear(2, 1)
    with still_raises("E26", RuntimeError, "must have the same dtype"):
        model(batch)
    assert model(batch.float()).shape == (2, 1), fix_fails("E26")


def test_e27_unseeded_shuffling_follows_the_global_random_state():
    def order() -> list[int]:
        return next(iter(DataLoader(range(10), batch_size=10, shuffle=True))).tolist()

    torch.manual_seed(0)
    first = order()
    torch.manual_seed(1)
    assert order() != first, outdated("E27", "the order no longer depends on the global seed")
    torch.manual_seed(0)
    torch.rand(1)  # any other draw before the loop
    assert order() != first, outdated("E27", "the order ignores earlier random draws")

    # Fix: the loader's own generator fixes the order whatever the global state.
    def seeded_order() -> list[int]:
        generator = torch.Generator().manual_seed(7)
        loader = DataLoader(range(10), batch_size=10, shuffle=True, generator=generator)
        return next(iter(loader)).tolist()

    torch.manual_seed(0)
    reference = seeded_order()
    torch.manual_seed(1)
    assert seeded_order() == reference, fix_fails("E27")


class _WorkerDraws(Dataset):
    """Each sample: the worker id and one draw from each global generator of the worker."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> tuple[int, list[float]]:
        import numpy as np

        info = torch.utils.data.get_worker_info()
        return info.id, [torch.rand(()).item(), random.random(), float(np.random.rand())]


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="the workers are started with fork, which this platform does not have",
)
def test_e27_workers_seed_torch_random_and_numpy_from_the_loader_generator():
    pytest.importorskip("numpy", reason="NumPy is not installed; the workers then skip it")

    def draws(seed: int) -> list[tuple[int, tuple[float, ...]]]:
        loader = DataLoader(
            _WorkerDraws(),
            batch_size=None,  # one sample at a time, not collated
            num_workers=2,
            generator=torch.Generator().manual_seed(seed),
            multiprocessing_context="fork",
        )
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork in a process with threads; not what is tested.
            warnings.simplefilter("ignore", DeprecationWarning)
            return [(worker, tuple(values)) for worker, values in loader]

    first = draws(0)
    assert [worker for worker, _ in first] == [0, 1, 0, 1], fix_fails("E27")
    by_worker = {worker: values for worker, values in first[:2]}
    for generator in range(3):  # torch, random, numpy: each differs between the workers
        assert by_worker[0][generator] != by_worker[1][generator], fix_fails("E27")
    assert draws(0) == first, fix_fails("E27")  # the same seed repeats every draw
    assert draws(1) != first, fix_fails("E27")


# ---------------------------------------------------------------------------------------
# §4.5 Saving and loading


def test_e28_a_pickled_whole_model_is_refused_by_default():
    buffer = io.BytesIO()
    torch.save(nn.Linear(2, 1), buffer)
    buffer.seek(0)
    with still_raises("E28", pickle.UnpicklingError, "Weights only load failed"):
        torch.load(buffer)
    buffer.seek(0)
    with still_raises("E28", pickle.UnpicklingError, "Unsupported global"):
        torch.load(buffer)
    buffer.seek(0)
    with torch.serialization.safe_globals([nn.Linear]):  # allowlisted, the class loads
        assert isinstance(torch.load(buffer), nn.Linear), outdated("E28", "allowlisting fails")

    # Fix: save the state dict; rebuild the model in code.
    model = _linear([0.5, -2.0], 0.25, dtype=torch.float32)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    rebuilt = nn.Linear(2, 1)
    rebuilt.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(rebuilt.weight, model.weight), fix_fails("E28")


def test_e29_the_checkpoint_functions_take_a_string_path(tmp_path: Path):
    # The article calls .exists() on a str (an AttributeError Python will always raise); the
    # fix is a path type, and pttour's checkpoint functions take either.
    import pttour

    folder = str(tmp_path)
    assert pttour.latest_checkpoint(folder) is None, fix_fails("E29")
    path = pttour.checkpoint_path(folder, 1)
    assert isinstance(path, Path), fix_fails("E29")
    pttour.save_checkpoint(str(path), nn.Linear(2, 1), epoch=1)
    assert pttour.latest_checkpoint(folder) == path, fix_fails("E29")


def test_e30_saving_into_a_missing_folder_fails(tmp_path: Path):
    target = tmp_path / "checkpoints" / "checkpoint.pth"
    with still_raises("E30", RuntimeError, "does not exist"):
        torch.save({"epoch": 0}, target)
    assert not target.parent.exists(), outdated("E30", "torch.save now creates the missing folder")
    # Fix: create the folder first.
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 0}, target)
    assert torch.load(target, weights_only=True) == {"epoch": 0}, fix_fails("E30")


def test_e31_the_loader_the_fix_defines_yields_input_label_pairs():
    # The article iterates a trainloader it never defines (a NameError Python will always
    # raise); the fix builds it, here as pttour.make_loader, the tested version on the page.
    import pttour

    dataset = TensorDataset(torch.rand(5, 2), torch.rand(5, 1))
    batches = list(pttour.make_loader(dataset, batch_size=2, seed=0))
    assert [len(inputs) for inputs, _ in batches] == [2, 2, 1], fix_fails("E31")
    assert all(labels.shape[1:] == (1,) for _, labels in batches), fix_fails("E31")
    seen = torch.cat([inputs for inputs, _ in batches])
    assert sorted(seen[:, 0].tolist()) == sorted(dataset.tensors[0][:, 0].tolist()), fix_fails(
        "E31"
    )


class _DictDataset(Dataset):
    """Samples as dictionaries, which the default collate batches key by key."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": torch.full((2,), float(index)), "label": torch.tensor(index)}


def test_e32_a_tensor_batch_has_no_keys(errata: pttour_errata.Errata):
    pairs = DataLoader(TensorDataset(torch.rand(2, 2), torch.rand(2, 1)), batch_size=2)
    with still_raises("E32", TypeError, "list indices must be integers or slices, not str"):
        next(iter(pairs))["image"]
    batch = next(iter(DataLoader(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), batch_size=2)))
    deprecation = "non-tuple sequence for multidimensional indexing"
    (e32,) = (e for e in errata.entries if e.id == "E32")
    if e32.behaviour_on(torch.__version__) is None:  # the page's "What happens"
        with (
            still_warns("E32", UserWarning, deprecation),
            still_raises("E32", IndexError, "too many indices for tensor of dimension 2"),
        ):
            batch["image"]  # five characters, five indices: more than two dimensions
    else:  # an older torch reads the string the same way, without the warning
        with (
            warnings.catch_warnings(record=True) as caught,
            still_raises("E32", IndexError, "too many indices for tensor of dimension 2"),
        ):
            warnings.simplefilter("always")
            batch["image"]
        warned = [str(w.message) for w in caught if deprecation in str(w.message)]
        assert not warned, outdated("E32", f"this torch warns now: {warned}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with still_raises("E32", TypeError, "str"):
            batch["ab"]  # with other shapes, a TypeError
    # Fix: a dataset of dictionaries gives batches with keys.
    sample = next(iter(DataLoader(_DictDataset(), batch_size=2)))
    assert sample["image"].shape == (2, 2), fix_fails("E32")
    assert sample["label"].tolist() == [0, 1], fix_fails("E32")


def test_e33_a_cuda_checkpoint_needs_map_location(monkeypatch: pytest.MonkeyPatch):
    buffer = io.BytesIO()
    with monkeypatch.context() as patch:
        # Tag the storages as torch.save does for tensors on the first GPU.
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save({"weight": torch.ones(2)}, buffer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    buffer.seek(0)
    with still_raises("E33", RuntimeError, "Attempting to deserialize object on a CUDA device"):
        torch.load(buffer, weights_only=True)
    buffer.seek(0)
    loaded = torch.load(buffer, map_location="cpu", weights_only=True)
    assert loaded["weight"].device.type == "cpu", fix_fails("E33")


def _adam_state_after_one_step() -> dict:
    model = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    return optimizer.state_dict()


def test_e33_the_optimizer_places_its_state_when_it_loads_it():
    # Optimizer.load_state_dict casts the state to each parameter's device *and* floating
    # dtype at load time; the dtype shows on a CPU what the device does on a GPU.
    state = _adam_state_after_one_step()
    late = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(late.parameters())
    optimizer.load_state_dict(state)
    late.double()  # converted after loading: the loaded state stays as it was
    assert optimizer.state[late.weight]["exp_avg"].dtype == torch.float32, outdated(
        "E33", "the optimizer's state now follows a later conversion of the model"
    )
    # Fix: convert or move the model first, create the optimizer, then load.
    early = nn.Linear(2, 1).double()
    optimizer = torch.optim.Adam(early.parameters())
    optimizer.load_state_dict(state)
    assert optimizer.state[early.weight]["exp_avg"].dtype == torch.float64, fix_fails("E33")


@pytest.mark.cuda
def test_e33_moving_the_model_after_loading_leaves_the_optimizer_state_behind():
    state = _adam_state_after_one_step()
    late = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(late.parameters())
    optimizer.load_state_dict(state)
    late.to("cuda")
    assert optimizer.state[late.weight]["exp_avg"].device.type == "cpu", outdated(
        "E33", "the optimizer's state now follows the model to the GPU"
    )
    late(torch.ones(1, 2, device="cuda")).sum().backward()
    with still_raises("E33", RuntimeError, ""):
        optimizer.step()
    # Fix: move the model first, create the optimizer, then load.
    early = nn.Linear(2, 1).to("cuda")
    optimizer = torch.optim.Adam(early.parameters())
    optimizer.load_state_dict(state)
    early(torch.ones(1, 2, device="cuda")).sum().backward()
    optimizer.step()
    assert optimizer.state[early.weight]["exp_avg"].device.type == "cuda", fix_fails("E33")


@pytest.mark.cuda
def test_e33_a_gpu_checkpoint_fails_to_load_without_cuda(monkeypatch: pytest.MonkeyPatch):
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(2, device="cuda")}, buffer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    buffer.seek(0)
    with still_raises("E33", RuntimeError, "Attempting to deserialize object on a CUDA device"):
        torch.load(buffer, weights_only=True)
    buffer.seek(0)
    assert (
        torch.load(buffer, map_location="cpu", weights_only=True)["weight"].device.type == "cpu"
    ), fix_fails("E33")


class _FailsToPickle:
    """Stands for a save interrupted halfway: pickling it raises."""

    def __reduce__(self):
        raise RuntimeError("interrupted while saving")


def test_e34_a_failed_save_destroys_the_previous_checkpoint(tmp_path: Path):
    path = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 1}, path)
    with still_raises("E34", RuntimeError, "interrupted"):
        torch.save({"epoch": 2, "broken": _FailsToPickle()}, path)
    assert path.exists(), outdated("E34", "a failed torch.save now removes the file")
    with still_raises("E34", RuntimeError, "PytorchStreamReader failed"):
        torch.load(path, weights_only=True)

    # Fix: pttour.save_checkpoint writes atomically; a save failing mid-write leaves the
    # previous checkpoint as it was, and no temporary file behind.
    import pttour

    model, saved = nn.Linear(2, 1), tmp_path / "atomic.pt"
    pttour.save_checkpoint(saved, model, epoch=1)
    with (
        mock.patch.object(torch, "save", side_effect=RuntimeError("interrupted")),
        still_raises("E34", RuntimeError, "interrupted"),
    ):
        pttour.save_checkpoint(saved, model, epoch=2)
    assert pttour.load_checkpoint(saved, model).epoch == 1, fix_fails("E34")
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["atomic.pt", "checkpoint.pth"], fix_fails("E34")


class _Payload:
    """A harmless stand-in for malicious code: unpickling it calls print."""

    def __reduce__(self):
        return (print, ("payload ran",))


class _OsPayload:
    """Unpickling it would call os.getcwd, a function of a module torch blocks."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_e35_loading_a_pickle_can_run_code(capsys: pytest.CaptureFixture[str]):
    buffer = io.BytesIO()
    torch.save({"weights": torch.ones(1), "extra": _Payload()}, buffer)
    buffer.seek(0)
    with still_raises("E35", pickle.UnpicklingError, "Unsupported global"):
        torch.load(buffer)
    assert "payload ran" not in capsys.readouterr().out, outdated(
        "E35", "weights_only=True now runs the payload"
    )
    buffer.seek(0)
    torch.load(buffer, weights_only=False)
    assert "payload ran" in capsys.readouterr().out, outdated(
        "E35", "weights_only=False no longer runs the callables a file names"
    )
    # A function of a blocked module, such as os, is refused with another message.
    buffer = io.BytesIO()
    torch.save({"extra": _OsPayload()}, buffer)
    buffer.seek(0)
    with still_raises("E35", pickle.UnpicklingError, f"whose module {os.name} is blocked"):
        torch.load(buffer)
    # Fix: a state dict loads with weights_only=True.
    buffer = io.BytesIO()
    torch.save(nn.Linear(2, 1).state_dict(), buffer)
    buffer.seek(0)
    assert set(torch.load(buffer, weights_only=True)) == {"weight", "bias"}, fix_fails("E35")


def test_e36_a_state_dict_holds_buffers_too():
    norm = nn.BatchNorm1d(2)
    keys = set(norm.state_dict())
    parameters = {name for name, _ in norm.named_parameters()}
    assert keys - parameters == {"running_mean", "running_var", "num_batches_tracked"}, outdated(
        "E36", f"BatchNorm1d's state dict now holds {sorted(keys)}"
    )
    norm(torch.linspace(0.0, 10.0, 16).reshape(8, 2))  # training mode: updates running stats
    norm.eval()
    only_parameters = nn.BatchNorm1d(2).eval()
    only_parameters.load_state_dict(dict(norm.named_parameters()), strict=False)
    whole_state = nn.BatchNorm1d(2).eval()
    whole_state.load_state_dict(norm.state_dict())
    probe = torch.tensor([[1.0, 2.0]])
    assert not torch.allclose(only_parameters(probe), norm(probe)), outdated(
        "E36", "parameters alone now reproduce BatchNorm in evaluation mode"
    )
    # Fix: the whole state dict reproduces the model.
    assert torch.equal(whole_state(probe), norm(probe)), fix_fails("E36")


def test_e37_resuming_without_the_random_state_changes_the_run():
    def epoch_orders(generator: torch.Generator, epochs: int) -> list[list[int]]:
        loader = DataLoader(range(8), batch_size=8, shuffle=True, generator=generator)
        return [next(iter(loader)).tolist() for _ in range(epochs)]

    uninterrupted = epoch_orders(torch.Generator().manual_seed(0), 2)
    # A new process does not continue the old random stream.
    resumed = epoch_orders(torch.Generator().manual_seed(1), 1)
    assert resumed[0] != uninterrupted[1], outdated("E37", "the resumed order matched by itself")

    # Fix: save the generator state with the checkpoint and restore it.
    generator = torch.Generator().manual_seed(0)
    epoch_orders(generator, 1)
    saved = generator.get_state()
    restored = torch.Generator()
    restored.set_state(saved)
    assert epoch_orders(restored, 1)[0] == uninterrupted[1], fix_fails("E37")


def test_e42_a_layer_draws_its_weights_when_it_is_built():
    with mock.patch.object(nn.Linear, "reset_parameters", autospec=True) as reset:
        nn.Linear(2, 1)
    assert reset.call_count == 1, outdated("E42", "nn.Linear no longer initialises itself")
    torch.manual_seed(1)
    other = nn.Linear(2, 1).weight.detach().clone()
    # Fix: seeding torch before building the model gives the same initial weights.
    torch.manual_seed(0)
    first = nn.Linear(2, 1).weight.detach().clone()
    torch.manual_seed(0)
    assert torch.equal(nn.Linear(2, 1).weight, first), fix_fails("E42")
    assert not torch.equal(first, other), outdated("E42", "the weights ignore the global seed")


def _net_with_batchnorm_and_dropout() -> nn.Module:
    layers = [nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1)]
    return nn.Sequential(*layers)


def test_e43_a_loaded_model_predicts_only_in_eval_mode():
    torch.manual_seed(0)
    trained = _net_with_batchnorm_and_dropout()
    trained(torch.randn(16, 2))  # training mode: batch normalisation gathers statistics
    buffer = io.BytesIO()
    torch.save({"model": trained.state_dict()}, buffer)
    x = torch.randn(4, 2)

    def load() -> nn.Module:
        buffer.seek(0)
        model = _net_with_batchnorm_and_dropout()
        model.load_state_dict(torch.load(buffer, weights_only=True)["model"])
        return model

    careless = load()
    assert careless.training, outdated("E43", "load_state_dict now leaves training mode")
    with still_raises("E43", ValueError, "Expected more than 1 value per channel when training"):
        careless(x[:1])
    assert not torch.equal(careless(x), careless(x)), outdated("E43", "dropout is inactive")
    assert careless(x).requires_grad, outdated("E43", "autograd no longer records by default")
    # Fix: eval() and inference_mode give one prediction per input, without autograd.
    predictor = load().eval()
    with torch.inference_mode():
        first, second, single = predictor(x), predictor(x), predictor(x[:1])
    assert torch.equal(first, second), fix_fails("E43")
    assert torch.allclose(single, first[:1]), fix_fails("E43")
    assert not first.requires_grad, fix_fails("E43")
    assert torch.equal(first, trained.eval()(x).detach()), fix_fails("E43")


def test_e48_a_sum_of_batch_losses_grows_with_the_number_of_batches():
    model = _linear([1.0, -1.0], 0.5)
    x, y = _xy(64)
    dataset = TensorDataset(x, y)

    def sum_and_mean(batch_size: int, weighted: bool = False) -> tuple[float, float]:
        loader = DataLoader(dataset, batch_size=batch_size)
        running_loss = weighted_sum = 0.0
        with torch.no_grad():
            for inputs, targets in loader:
                loss = nn.MSELoss()(model(inputs), targets).item()
                running_loss += loss
                weighted_sum += loss * len(targets)
        return running_loss, (
            weighted_sum / len(dataset) if weighted else running_loss / len(loader)
        )

    (sum_16, mean_16), (sum_64, mean_64) = sum_and_mean(16), sum_and_mean(64)
    assert math.isclose(sum_16, 4 * sum_64, rel_tol=1e-9), outdated(
        "E48", f"the sum over 4 batches is {sum_16}, not four times the one batch's {sum_64}"
    )
    # Fix: the mean over the batches does not depend on the batch size ...
    assert math.isclose(mean_16, mean_64, rel_tol=1e-9), fix_fails("E48")
    # ... and, with an uneven last batch (64 = 2 * 24 + 16), weighing by the batch size does.
    _, mean_24 = sum_and_mean(24, weighted=True)
    assert math.isclose(mean_24, mean_64, rel_tol=1e-9), fix_fails("E48")
    unweighted = sum_and_mean(24)[1]
    assert not math.isclose(unweighted, mean_64, rel_tol=1e-9), outdated(
        "E48", "the plain mean of uneven batches equals the mean over the samples"
    )


# ---------------------------------------------------------------------------------------
# The errata themselves


@pytest.fixture(scope="module")
def errata() -> pttour_errata.Errata:
    if importlib.util.find_spec("tomllib") is None:
        pytest.importorskip("tomli", reason="Python 3.10 reads TOML with tomli (the test group)")
    return pttour_errata.load()


def _raw() -> dict:
    """The data file as TOML gives it, for tests that break one value."""
    tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    return tomllib.loads(pttour_errata.DATA.read_text(encoding="utf-8"))


_TUTORIALS_OF_SECTION = {  # the pages that reproduce a section's errata
    "§1": ("plot_01_what_is_pytorch",),
    "§2": ("plot_01_what_is_pytorch",),
    "§3": ("plot_02_environment",),
    "§4.1": ("plot_03_tensors",),
    "§4.2": ("plot_05_autograd_training", "plot_06_losses_optimizers"),
    "§4.3": ("plot_08_gradients_by_hand", "plot_09_gradcheck"),
    "§4.4": ("plot_10_datasets", "plot_11_shuffling_workers"),
    "§4.5": ("plot_12_saving_loading", "plot_13_checkpoints_resume"),
}


def test_every_erratum_is_complete_and_valid(errata):
    assert len(errata.entries) >= 20
    for erratum in errata.entries:
        for field in ("id", "section", "kind", "title", "description", "observed", "correction"):
            assert getattr(erratum, field).strip(), f"{erratum.id} has an empty {field}"
        assert erratum.kind in errata.kinds
        assert erratum.tutorial in errata.tutorials
        assert erratum.tutorial in _TUTORIALS_OF_SECTION[erratum.section], erratum.id
        assert erratum.label == f"erratum-{erratum.id.lower()}"
        assert erratum.anchor == erratum.id.lower()


def test_ids_are_unique_and_in_article_order(errata):
    entries = errata.entries
    assert len({e.id for e in entries}) == len(entries), "two errata share an id"
    assert {f"E{n:02d}" for n in range(1, 38)} <= {e.id for e in entries}, "one of E01-E37 is gone"
    order = list(errata.sections)
    keys = [(order.index(e.section), e.id) for e in entries]
    assert keys == sorted(keys), "errata are not in article order (by section, then by id)"
    assert len({e.title for e in entries}) == len(entries), "two errata share a title"
    assert list(errata.sections) == list(_TUTORIALS_OF_SECTION)
    assert errata.kinds == (
        "crash",
        "wrong-result",
        "false-claim",
        "outdated",
        "omission",
        "safety",
    )


def test_every_section_has_errata(errata):
    covered = {e.section for e in errata.entries}
    assert covered == set(errata.sections), (
        f"sections without errata: {set(errata.sections) - covered}"
    )


def test_every_checkable_erratum_has_a_test(errata):
    tested = {
        match.group(1).upper()
        for name in globals()
        if (match := re.match(r"test_(e\d{2})_", name)) is not None
    }
    for erratum in errata.entries:
        if erratum.untested_reason:
            assert erratum.id not in tested, f"{erratum.id} has a test; drop its untested_reason"
        else:
            assert erratum.id in tested, f"{erratum.id} has neither a test nor an untested_reason"
    assert tested <= {e.id for e in errata.entries}, "a test names an erratum that does not exist"


def test_tutorials_are_the_gallery_scripts_titled_by_their_docstrings(errata):
    scripts = sorted(p.stem for p in pttour_errata.TUTORIALS.glob("plot_*.py"))
    assert list(errata.tutorials) == scripts
    assert errata.tutorials["plot_03_tensors"] == "Tensors: creation, dtype and device"
    assert errata.tutorials["plot_12_saving_loading"] == "Saving and loading a model"


def test_each_tutorial_defines_exactly_the_labels_of_its_errata(errata):
    for tutorial in errata.tutorials:
        source = (pttour_errata.TUTORIALS / f"{tutorial}.py").read_text(encoding="utf-8")
        defined = set(re.findall(r"^# \.\. _(erratum-e\d{2}):", source, flags=re.MULTILINE))
        assert defined == {e.label for e in errata.for_tutorial(tutorial)}, tutorial


def test_for_tutorial_splits_the_errata_by_tutorial(errata):
    names = dict.fromkeys(name for names in _TUTORIALS_OF_SECTION.values() for name in names)
    pages = [errata.for_tutorial(name) for name in names]
    assert all(pages), "one of the article's tutorials reproduces no erratum"
    assert [e.id for e in errata.for_tutorial("plot_03_tensors")] == [
        "E06",
        "E07",
        "E08",
        "E09",
        "E38",
        "E39",
        "E40",
    ]
    assert sorted({e for page in pages for e in page}, key=lambda e: e.id) == sorted(
        errata.entries, key=lambda e: e.id
    )
    with pytest.raises(ValueError, match="unknown tutorial 'plot_00'"):
        errata.for_tutorial("plot_00")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "typo"}, "unknown kind 'typo'"),
        ({"section": "§5"}, "unknown section '§5'"),
        ({"tutorial": "plot_99"}, "unknown tutorial 'plot_99'"),
        ({"id": "E1"}, "malformed"),
        ({"observed": "  "}, "empty or missing 'observed'"),
        ({"since_torch": "2.6"}, r"unknown fields \['since_torch'\]"),
    ],
)
def test_the_loader_rejects_bad_values(errata, change: dict[str, str], message: str):
    data = _raw()
    data["erratum"][0].update(change)
    with pytest.raises(ValueError, match=message):
        pttour_errata.parse(data, errata.tutorials, errata.tested)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("swap ids", "article order"),
        ("swap sections", "article order"),
        ("duplicate", "must be unique; E01 appear"),
    ],
)
def test_the_loader_rejects_ids_out_of_order_or_repeated(errata, change, message):
    data = _raw()
    entries = data["erratum"]
    if change == "swap ids":  # two entries of one section, the later id first
        entries[5], entries[6] = entries[6], entries[5]
    elif change == "swap sections":
        entries[0], entries[-1] = entries[-1], entries[0]
    else:
        entries[1] = {**entries[1], "id": entries[0]["id"]}
    with pytest.raises(ValueError, match=message):
        pttour_errata.parse(data, errata.tutorials, errata.tested)


def test_the_loader_accepts_an_id_found_later_in_its_section(errata):
    data = _raw()
    entries = data["erratum"]
    first_section = [e for e in entries if e["section"] == entries[0]["section"]]
    later = {**first_section[-1], "id": "E99", "title": "found later"}
    entries.insert(len(first_section), later)
    parsed = pttour_errata.parse(data, errata.tutorials, errata.tested)
    assert parsed.entries[len(first_section)].id == "E99"


def test_rendered_page_gives_every_erratum_a_heading_an_anchor_and_a_link(errata):
    page = pttour_errata.render(errata)
    assert page.startswith("Errata of the original article\n")
    for erratum in errata.entries:
        heading = f"Erratum {erratum.id}: {erratum.title}"
        assert f".. _{erratum.anchor}:\n\n{heading}\n{'~' * len(heading)}\n" in page
        assert f"erratum {erratum.id} <{erratum.label}>`" in page
        assert f"**What happens:** {erratum.observed}\n" in page
    assert ":ref:`Tensors: creation, dtype and device, erratum E07 <erratum-e07>`" in page
    for section, name in errata.sections.items():
        assert f"{section} {name}\n" in page
    plain = pttour_errata.render(errata, link_to_tutorials=False)
    assert ":ref:" not in plain
    assert all(f"``{e.tutorial}``" in plain for e in errata.entries)


def test_rendered_page_is_valid_restructuredtext(errata):
    core = pytest.importorskip(
        "docutils.core", reason="docutils is not installed; the page cannot be parsed here"
    )
    report = io.StringIO()
    doctree = core.publish_doctree(
        pttour_errata.render(errata, link_to_tutorials=False),
        # level 2: warnings and errors; the anchors are, at level 1, "not referenced" here
        settings_overrides={"warning_stream": report, "report_level": 2, "halt_level": 5},
    )
    assert report.getvalue() == "", report.getvalue()
    # Each erratum is a section of its own, reachable by its stable id.
    ids = {i for node in doctree.findall() if hasattr(node, "get") for i in node.get("ids", [])}
    assert {e.anchor for e in errata.entries} <= ids
