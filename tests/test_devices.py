"""Tests for pttour.devices: pick_device, move_to and time_matmul."""

from __future__ import annotations

import math
from collections import OrderedDict, defaultdict, namedtuple
from collections.abc import Iterator, Mapping

import pytest
import torch
from torch import nn

from pttour.devices import move_to, pick_device, time_matmul

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = torch.backends.mps.is_available()

Sample = namedtuple("Sample", ["image", "label", "name"])


class _ReadOnlyMapping(Mapping):
    """A Mapping whose constructor does not take a dict, so move_to must fall back."""

    def __init__(self, *pairs: tuple[str, object]) -> None:
        self._data = dict(pairs)

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _no_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)


def _fake_accelerator(monkeypatch: pytest.MonkeyPatch, kind: str, current: int, count: int):
    """Make torch.accelerator report ``count`` devices of ``kind``, ``current`` selected."""
    api = torch.accelerator
    monkeypatch.setattr(api, "is_available", lambda: True)
    monkeypatch.setattr(api, "current_accelerator", lambda *args: torch.device(kind))
    for name in ("current_device_index", "current_device_idx"):
        monkeypatch.setattr(api, name, lambda: current, raising=False)
    monkeypatch.setattr(api, "device_count", lambda: count)


def _nested_batch(device: str = "cpu") -> dict[str, object]:
    return {
        "inputs": [torch.arange(6.0, device=device).view(2, 3), torch.ones(2, device=device)],
        "sample": Sample(torch.zeros(1, 2, 2, device=device), torch.tensor(1, device=device), "a"),
        "pair": (torch.tensor([5, 6], device=device), 3),
        "meta": {"epoch": 2, "note": None},
    }


# --- pick_device ---------------------------------------------------------------------


def test_pick_device_falls_back_to_cpu_without_accelerators(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_accelerators(monkeypatch)
    assert pick_device() == torch.device("cpu")


def test_pick_device_takes_the_accelerator_torch_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.accelerator names the machine's accelerator, whatever its kind (XPU here).
    _fake_accelerator(monkeypatch, "xpu", current=2, count=3)
    assert pick_device() == torch.device("xpu", 2)
    assert pick_device("xpu") == torch.device("xpu", 2)
    assert pick_device(torch.device("xpu", 1)) == torch.device("xpu", 1)
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"only 3 xpu device\(s\) are visible.*xpu:2"):
        pick_device("xpu:3")
    with pytest.raises(ValueError, match=r"accelerator torch sees here \(xpu\), got 'hpu'"):
        pick_device("hpu")


@pytest.mark.skipif(HAS_CUDA or HAS_MPS, reason="this machine has a GPU, so cpu is not picked")
def test_pick_device_is_cpu_here() -> None:
    assert pick_device() == torch.device("cpu")


@pytest.mark.parametrize("name", ["cpu", "cpu:0", torch.device("cpu")])
def test_pick_cpu_matches_tensor_device(name: str | torch.device) -> None:
    device = pick_device(name)
    assert device == torch.device("cpu")
    assert torch.ones(1, device=device).device == device


@pytest.mark.skipif(HAS_CUDA, reason="CUDA is available here, so requesting it succeeds")
@pytest.mark.parametrize("name", ["cuda", "cuda:1", torch.device("cuda")])
def test_requesting_unavailable_cuda_raises(name: str | torch.device) -> None:
    with pytest.raises(ValueError, match=f"^device {str(name)!r} was requested") as caught:
        pick_device(name)
    message = str(caught.value)
    assert "available: cpu" in message
    assert "To fix:" in message


def test_cuda_built_but_no_gpu_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_accelerators(monkeypatch)
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    with pytest.raises(ValueError, match=r"sees no GPU.*available: cpu.*nvidia-smi"):
        pick_device("cuda")


def test_cuda_index_out_of_range_says_how_many(monkeypatch: pytest.MonkeyPatch) -> None:
    # One GPU, faked everywhere torch reports it: on a CUDA build without a driver, an API left
    # real would try to start CUDA (a CPU-only build simply answers "no").
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    if hasattr(torch, "accelerator"):
        _fake_accelerator(monkeypatch, "cuda", current=0, count=1)
    with pytest.raises(ValueError, match=r"only 1 CUDA device\(s\).*available: cpu, cuda:0"):
        pick_device("cuda:1")


@pytest.mark.skipif(HAS_MPS, reason="MPS is available here, so requesting it succeeds")
def test_requesting_unavailable_mps_raises() -> None:
    with pytest.raises(ValueError, match=r"device 'mps' was requested but .*macOS"):
        pick_device("mps")


@pytest.mark.parametrize("name", ["gpu", "CPU", "", "cuda:x"])
def test_unknown_device_name_raises_value_error(name: str) -> None:
    with pytest.raises(ValueError, match=f"device={name!r} is not a device name"):
        pick_device(name)


@pytest.mark.parametrize("name", ["meta", "xpu", torch.device("meta")])
def test_other_backends_are_refused(name: str | torch.device) -> None:
    with pytest.raises(ValueError, match="chooses among 'cpu', 'cuda' and 'mps'"):
        pick_device(name)


@pytest.mark.parametrize("value", [0, 1.0, ["cpu"]])
def test_non_string_device_raises_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"device must be a str or a torch\.device, got"):
        pick_device(value)  # type: ignore[arg-type]


# --- move_to -------------------------------------------------------------------------


def test_move_to_keeps_structure_types_and_leaves() -> None:
    batch = _nested_batch()
    moved = move_to(batch, "cpu")
    assert type(moved) is dict
    assert moved is not batch
    assert moved.keys() == batch.keys()
    assert type(moved["inputs"]) is list
    assert type(moved["sample"]) is Sample
    assert moved["sample"].name == "a"
    assert type(moved["pair"]) is tuple
    assert moved["pair"][1] == 3
    assert moved["meta"] == {"epoch": 2, "note": None}
    assert torch.equal(moved["inputs"][0], batch["inputs"][0])
    assert torch.equal(moved["sample"].label, batch["sample"].label)


@pytest.mark.parametrize("leaf", [3, 2.5, "text", None, b"bytes", {1, 2}])
def test_move_to_returns_other_leaves_unchanged(leaf: object) -> None:
    assert move_to(leaf, "cpu") is leaf


def test_move_to_keeps_mapping_types() -> None:
    ordered = OrderedDict([("b", torch.ones(1)), ("a", torch.zeros(1))])
    moved = move_to(ordered, "cpu")
    assert type(moved) is OrderedDict
    assert list(moved) == ["b", "a"]

    counts = defaultdict(list, {"x": [torch.ones(1)]})
    moved_counts = move_to(counts, "cpu")
    assert type(moved_counts) is defaultdict
    assert moved_counts.default_factory is list
    assert moved_counts["missing"] == []


def test_move_to_falls_back_to_dict_for_unbuildable_mappings() -> None:
    moved = move_to(_ReadOnlyMapping(("x", torch.ones(2))), "cpu")
    assert type(moved) is dict
    assert torch.equal(moved["x"], torch.ones(2))


def test_move_to_returns_the_same_module() -> None:
    model = nn.Linear(2, 1)
    assert move_to(model, "cpu") is model


def test_move_to_keeps_packed_sequence() -> None:
    packed = nn.utils.rnn.pack_sequence([torch.ones(3, 1), torch.ones(2, 1)])
    moved = move_to({"seq": packed}, "cpu")["seq"]
    assert type(moved) is nn.utils.rnn.PackedSequence
    assert torch.equal(moved.batch_sizes, packed.batch_sizes)


def test_move_to_checks_the_device() -> None:
    with pytest.raises(TypeError, match=r"^device must be a str or a torch\.device, got None"):
        move_to(torch.ones(1), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^non_blocking must be True or False"):
        move_to(torch.ones(1), "cpu", non_blocking="yes")
    with pytest.raises(ValueError, match="device='gpu' is not a device name"):
        move_to(torch.ones(1), "gpu")


@pytest.mark.skipif(HAS_CUDA, reason="CUDA is available here, so moving to it succeeds")
def test_move_to_unavailable_cuda_raises() -> None:
    with pytest.raises(ValueError, match="device 'cuda' was requested"):
        move_to({"x": torch.ones(1)}, "cuda")


# --- time_matmul ---------------------------------------------------------------------


@pytest.mark.parametrize("include_transfer", [False, True])
def test_time_matmul_on_cpu_is_positive_and_finite(include_transfer: bool) -> None:
    seconds = time_matmul(16, "cpu", include_transfer=include_transfer, min_run_time=0.01)
    assert isinstance(seconds, float)
    assert math.isfinite(seconds)
    assert seconds > 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.35e-5, "13.5 us"), (0.00268, "2.68 ms"), (4e-9, "4 ns"), (2.5, "2.5 s")],
)
def test_time_matmul_prints_rounded_with_its_unit(seconds: float, text: str) -> None:
    duration = type(time_matmul(2, "cpu", min_run_time=0.01))(seconds)
    assert (str(duration), f"{duration}", duration) == (text, text, seconds)


def test_a_larger_product_takes_longer() -> None:
    small = time_matmul(2, "cpu", min_run_time=0.05)
    large = time_matmul(256, "cpu", min_run_time=0.05)
    assert large > 10 * small


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex64])
def test_time_matmul_accepts_other_float_dtypes(dtype: torch.dtype) -> None:
    assert time_matmul(4, "cpu", dtype=dtype, min_run_time=0.01) > 0


def test_time_matmul_leaves_the_global_random_stream_alone() -> None:
    before = torch.get_rng_state()
    time_matmul(8, "cpu", min_run_time=0.01)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be an int >= 1, got 0"),
        ({"n": -3}, ValueError, "n must be an int >= 1, got -3"),
        ({"n": 2.5}, TypeError, "n must be an int >= 1, got 2.5"),
        ({"n": True}, TypeError, "n must be an int >= 1, got True"),
        ({"num_threads": 0}, ValueError, "num_threads must be an int >= 1, got 0"),
        ({"min_run_time": 0}, ValueError, "min_run_time=0 must be a finite, positive number"),
        ({"include_transfer": "no"}, TypeError, "include_transfer must be True or False"),
        ({"dtype": torch.int32}, TypeError, "floating point or complex torch.dtype"),
        ({"dtype": "float32"}, TypeError, "floating point or complex torch.dtype"),
        ({"device": "gpu"}, ValueError, "device='gpu' is not a device name"),
    ],
)
def test_time_matmul_validates_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    arguments: dict[str, object] = {"n": 4, "device": "cpu", **kwargs}
    with pytest.raises(error, match=match):
        time_matmul(**arguments)  # type: ignore[arg-type]


# --- CUDA ----------------------------------------------------------------------------


@pytest.mark.cuda
def test_pick_device_prefers_cuda() -> None:
    device = pick_device()
    assert device.type == "cuda"
    assert device.index == torch.cuda.current_device()
    # Indexed, so it compares equal to the device of a tensor created on it.
    assert torch.ones(1, device="cuda").device == pick_device("cuda") == device


@pytest.mark.cuda
def test_pick_device_refuses_a_missing_gpu_index() -> None:
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"only {count} CUDA device"):
        pick_device(f"cuda:{count}")


@pytest.mark.cuda
def test_move_model_and_nested_batch_to_cuda_and_back() -> None:
    cuda = pick_device("cuda")
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    weights_before = [p.detach().clone() for p in model.parameters()]
    assert move_to(model, cuda) is model
    assert all(p.device == cuda for p in model.parameters())

    batch = _nested_batch()
    on_gpu = move_to(batch, cuda)
    assert on_gpu["inputs"][0].device == cuda
    assert on_gpu["inputs"][1].device == cuda
    assert type(on_gpu["sample"]) is Sample
    assert on_gpu["sample"].image.device == cuda
    assert on_gpu["pair"][0].device == cuda
    assert on_gpu["meta"] == {"epoch": 2, "note": None}
    output = model(on_gpu["inputs"][0])
    assert output.device == cuda

    back = move_to(on_gpu, "cpu")
    assert back["inputs"][0].device == torch.device("cpu")
    assert torch.equal(back["inputs"][0], batch["inputs"][0])
    assert torch.equal(back["sample"].image, batch["sample"].image)
    assert torch.equal(back["pair"][0], batch["pair"][0])
    move_to(model, "cpu")
    for before, after in zip(weights_before, model.parameters(), strict=True):
        assert after.device == torch.device("cpu")
        assert torch.equal(before, after)


@pytest.mark.cuda
def test_move_to_cuda_non_blocking_from_pinned_memory() -> None:
    pinned = torch.arange(8.0).pin_memory()
    moved = move_to({"x": pinned}, "cuda", non_blocking=True)
    torch.cuda.synchronize()
    assert moved["x"].is_cuda
    assert torch.equal(moved["x"].cpu(), pinned)


@pytest.mark.cuda
def test_packed_sequence_keeps_batch_sizes_on_cpu() -> None:
    packed = nn.utils.rnn.pack_sequence([torch.ones(3, 1), torch.ones(2, 1)])
    moved = move_to(packed, "cuda")
    assert moved.data.is_cuda
    assert moved.batch_sizes.device == torch.device("cpu")


@pytest.mark.cuda
@pytest.mark.parametrize("n", [16, 2048])
def test_matmul_benchmark_cpu_vs_cuda(n: int) -> None:
    timings = {
        "cpu": time_matmul(n, "cpu"),
        "cuda": time_matmul(n, "cuda"),
        "cuda+transfer": time_matmul(n, "cuda", include_transfer=True),
    }
    for label, seconds in timings.items():
        print(f"n={n:5d} {label:<14} {seconds}")
        assert isinstance(seconds, float)
        assert math.isfinite(seconds)
        assert seconds > 0
