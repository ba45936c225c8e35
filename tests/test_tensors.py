"""Tests for pttour.tensors: make_tensor, describe, and the legacy-constructor pitfalls."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from conftest import cpu_and_cuda

from pttour.tensors import TensorInfo, describe, make_tensor


def test_legacy_constructor_rejects_dtype_but_make_tensor_accepts_it() -> None:
    with pytest.raises(TypeError):
        torch.Tensor([[1, 2]], dtype=torch.int32)
    y = make_tensor([[1, 2]], dtype=torch.int32)
    assert y.dtype == torch.int32
    assert y.tolist() == [[1, 2]]


def test_legacy_constructor_turns_integers_into_floats() -> None:
    # The reason to prefer torch.tensor: it keeps the type of the data.
    assert torch.Tensor([[1, 2]]).dtype == torch.get_default_dtype()
    assert make_tensor([[1, 2]]).dtype == torch.int64


def test_dtype_is_inferred_like_torch_tensor() -> None:
    assert make_tensor([1.5, 2.0]).dtype == torch.get_default_dtype()
    assert make_tensor([True, False]).dtype == torch.bool
    assert make_tensor(3).shape == torch.Size([])


def test_shape_is_not_the_number_of_elements() -> None:
    x = make_tensor([[1, 2, 3], [4, 5, 6]])
    info = describe(x)
    assert info.shape == (2, 3)
    assert info.ndim == 2
    assert info.numel == 6
    assert math.prod(info.shape) == info.numel
    assert info.shape != (info.numel,)
    assert info.dtype == torch.int64
    assert info.device == torch.device("cpu")
    assert info.requires_grad is False


@pytest.mark.parametrize(
    ("tensor", "shape", "numel"),
    [(torch.tensor(3.0), (), 1), (torch.zeros(0, 3), (0, 3), 0), (torch.zeros(4), (4,), 4)],
)
def test_describe_scalars_and_empty_tensors(
    tensor: torch.Tensor, shape: tuple[int, ...], numel: int
) -> None:
    info = describe(tensor)
    assert (info.shape, info.ndim, info.numel) == (shape, len(shape), numel)


def test_tensor_info_str() -> None:
    info = describe(make_tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True))
    text = str(info)
    for fragment in ("shape (2, 3)", "ndim 2", "numel 6", "torch.float32", "cpu", "True"):
        assert fragment in text
    assert isinstance(info, TensorInfo)


@pytest.mark.parametrize("value", [[1, 2], 3.0, None, "tensor"])
def test_describe_rejects_non_tensors(value: object) -> None:
    with pytest.raises(
        TypeError, match=rf"^tensor must be a torch\.Tensor, got .*\({type(value).__name__}\)"
    ):
        describe(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "suggestion"),
    [
        ("int32", "torch.int32"),
        ("float16", "torch.float16"),
        (float, "torch.float64"),
        (int, "torch.int64"),
        (7, "torch.int32 or torch.float32"),
    ],
)
def test_dtype_must_be_a_torch_dtype(bad: object, suggestion: str) -> None:
    with pytest.raises(TypeError) as caught:
        make_tensor([1, 2], dtype=bad)  # type: ignore[arg-type]
    message = str(caught.value)
    assert repr(bad) in message
    assert f"dtype={suggestion}" in message


def test_tensor_data_is_rejected_where_torch_only_warns() -> None:
    source = torch.ones(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.tensor(source)
    # One warning, told by its category: the wording is torch's own and changes between releases.
    assert [w.category for w in caught] == [UserWarning]
    with pytest.raises(TypeError, match=r"\.to\(.*clone\(\)\.detach\(\)"):
        make_tensor(source)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"requires_grad": "no"}, "^requires_grad must be True or False, got 'no'"),
        ({"device": 0}, "^device must be a str or a torch.device, got 0"),
        ({"data": None}, "^data must be numbers"),
    ],
)
def test_wrong_types_are_refused_naming_the_argument(kwargs: dict, match: str) -> None:
    # requires_grad="no" is truthy: without the check it would make a tensor that requires grad.
    with pytest.raises(TypeError, match=match):
        make_tensor(**({"data": [1.0, 2.0]} | kwargs))


@pytest.mark.parametrize(
    "data", [[[1, 2], [3]], [2**70], [1, None], ["a"]], ids=["ragged", "overflow", "None", "text"]
)
def test_data_torch_cannot_read_is_named(data: object) -> None:
    with pytest.raises(
        ValueError, match=r"^data cannot be made into a tensor \(.+\); pass numbers"
    ):
        make_tensor(data)


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a GPU cuda:7")
def test_a_device_this_machine_lacks_is_named() -> None:
    with pytest.raises(ValueError, match=r"^device 'cuda:7' was requested but .*available: cpu"):
        make_tensor([1.0], device="cuda:7")


def test_requires_grad_needs_a_floating_dtype() -> None:
    with pytest.raises(ValueError, match="only floating point and complex tensors can require"):
        make_tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match=r"torch\.int8 \(requested\)"):
        make_tensor([1.0, 2.0], dtype=torch.int8, requires_grad=True)


def test_requires_grad_float_and_complex_track_gradients() -> None:
    x = make_tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [3.0, 3.0]
    assert make_tensor([1 + 2j], requires_grad=True).requires_grad


def test_make_tensor_copies_data_and_places_it() -> None:
    data = [1.0, 2.0]
    x = make_tensor(data, dtype=torch.float64, device="cpu")
    data[0] = 99.0
    assert x.tolist() == [1.0, 2.0]
    assert (x.dtype, x.device) == (torch.float64, torch.device("cpu"))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_double_gradient_type_check_depends_on_device(device: str) -> None:
    weight = torch.ones(3, dtype=torch.float64, device=device, requires_grad=True)
    (weight * weight).sum().backward()
    grad = weight.grad
    assert grad is not None
    # The legacy type objects are per device: torch.DoubleTensor means a CPU double tensor,
    # so an isinstance check on it fails for a float64 gradient on the GPU.
    on_cpu = device == "cpu"
    assert isinstance(grad, torch.DoubleTensor) is on_cpu
    assert grad.type() == ("torch.DoubleTensor" if on_cpu else "torch.cuda.DoubleTensor")
    # Checking the dtype is right on every device.
    assert grad.dtype == torch.float64
    assert describe(grad).dtype == torch.float64
